import { VirtualClock } from '../../lib/clock/index.js';
import { MemoryStore } from '../../lib/store/index.js';
import { describeStoreContract } from './store.contract.js';

describeStoreContract('MemoryStore', async () => {
  const clock = new VirtualClock(1_000_000);
  const store = new MemoryStore(clock);
  return { store, clock, teardown: () => store.close() };
});
