import { VirtualClock } from '../../lib/clock/index.js';
import type { WarmState } from '../../lib/domain/index.js';
import { SimCloud, type SimCloudOptions } from '../../lib/providers/index.js';
import { describeProviderContract, type ProviderHarness } from './provider.contract.js';

function harness(make: (options: SimCloudOptions) => SimCloud): () => Promise<ProviderHarness> {
  return async () => {
    const clock = new VirtualClock();
    const provider = make({
      clock,
      hosts: [
        { name: 'hv-1', capacity: 20 },
        { name: 'hv-2', capacity: 20 },
        { name: 'hv-small', capacity: 2 },
      ],
      seed: 42,
    });
    return {
      provider,
      hosts: ['hv-1', 'hv-2'],
      pool: 'contract',
      run: (fn) => clock.run(fn),
      capacityLimited: { host: 'hv-small', free: 2 },
    };
  };
}

describeProviderContract(
  'sim',
  harness((options) => new SimCloud(options)),
);

/** A sim that claims EC2's warm states only, so the suite's skipping of unsupported states is exercised. */
class Ec2LikeSim extends SimCloud {
  override readonly warmStates: readonly WarmState[] = ['stopped', 'hibernated', 'running'];
}

describeProviderContract(
  'sim (EC2-like warm states)',
  harness((options) => new Ec2LikeSim(options)),
);
