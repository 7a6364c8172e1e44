/**
 * The CloudProvider contract on the EC2 adapter. No EC2 emulator runs here, so the adapter talks to a small
 * fake EC2 behind `mockClient(EC2Client)` (aws-sdk-client-mock): a state machine on a VirtualClock that
 * answers RunInstances, StartInstances, StopInstances, TerminateInstances and DescribeInstances the way EC2
 * does (202-style acceptance, pending → running after a boot, stopping → stopped or hibernated, shutting-down
 * → terminated, idempotent no-ops where EC2 has them, IncorrectInstanceState where it refuses, errors as
 * EC2ServiceException with EC2's codes, DescribeInstances paginated), so the same suite that proves the sim
 * proves the adapter's requests, status mapping, error mapping and polling.
 */
import {
  DescribeInstancesCommand,
  type DescribeInstancesCommandInput,
  type DescribeInstancesCommandOutput,
  EC2Client,
  EC2ServiceException,
  type Instance,
  type InstanceStateChange,
  type InstanceStateName,
  RunInstancesCommand,
  type RunInstancesCommandInput,
  type RunInstancesCommandOutput,
  StartInstancesCommand,
  type StartInstancesCommandInput,
  StopInstancesCommand,
  type StopInstancesCommandInput,
  TerminateInstancesCommand,
  type TerminateInstancesCommandInput,
} from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { expect } from 'vitest';
import { VirtualClock } from '../../lib/clock/index.js';
import { Ec2Provider } from '../../lib/providers/index.js';
import { describeProviderContract } from './provider.contract.js';

/** How long each EC2 transition takes in the fake (ms of the virtual clock). */
const TIMING = { bootMs: 40_000, startMs: 25_000, stopMs: 15_000, hibernateMs: 35_000, terminateMs: 10_000 };

interface FakeInstance {
  id: string;
  state: InstanceStateName;
  reason?: { Code: string; Message: string };
  az: string;
  tags: Record<string, string>;
  launchTime: number;
  firstLaunch: number;
  hibernationConfigured: boolean;
  cancel?: () => void;
}

function ec2Error(name: string, message: string, fault: 'client' | 'server' = 'client'): EC2ServiceException {
  return new EC2ServiceException({ name, message, $fault: fault, $metadata: { httpStatusCode: 400 } });
}

/** A fake EC2 region: Availability Zones with a fixed number of slots, instances moving on a VirtualClock. */
class FakeEc2 {
  readonly instances = new Map<string, FakeInstance>();
  /** Instances per DescribeInstances page, small so that the adapter must follow NextToken. */
  readonly pageSize = 3;
  private seq = 0;
  private readonly tokens = new Map<string, string>();

  constructor(
    private readonly clock: VirtualClock,
    private readonly azCapacity: Readonly<Record<string, number>>,
  ) {}

  async run(input: RunInstancesCommandInput): Promise<RunInstancesCommandOutput> {
    const az = input.Placement?.AvailabilityZone;
    if (az === undefined || !(az in this.azCapacity)) {
      throw ec2Error('InvalidParameterValue', `Invalid availability zone: [${az}]`);
    }
    const used = [...this.instances.values()].filter((i) => i.az === az && i.state !== 'terminated').length;
    if (used >= this.azCapacity[az]!) {
      throw ec2Error(
        'InsufficientInstanceCapacity',
        `We currently do not have sufficient capacity in the Availability Zone you requested (${az}).`,
        'server',
      );
    }
    expect(input.ClientToken, 'every RunInstances carries a ClientToken').toMatch(/\S/);
    const tags: Record<string, string> = {};
    for (const spec of input.TagSpecifications ?? []) {
      if (spec.ResourceType !== 'instance') continue;
      for (const t of spec.Tags ?? []) tags[t.Key!] = t.Value!;
    }
    const id = `i-${(0xabc000 + ++this.seq).toString(16).padStart(17, '0')}`;
    const now = this.clock.now();
    const inst: FakeInstance = {
      id,
      state: 'pending',
      az,
      tags,
      launchTime: now,
      firstLaunch: now,
      hibernationConfigured: input.HibernationOptions?.Configured === true,
    };
    this.instances.set(id, inst);
    this.after(inst, TIMING.bootMs, () => {
      inst.state = 'running';
    });
    return { $metadata: {}, Instances: [this.describe(inst)] };
  }

  async start(input: StartInstancesCommandInput) {
    const changes = this.each(input.InstanceIds, (inst): InstanceStateChange => {
      const before = inst.state;
      if (before === 'pending' || before === 'running') return this.change(inst, before);
      if (before !== 'stopped') {
        throw ec2Error(
          'IncorrectInstanceState',
          `The instance '${inst.id}' is not in a state from which it can be started.`,
        );
      }
      inst.state = 'pending';
      inst.reason = undefined;
      inst.launchTime = this.clock.now();
      this.after(inst, TIMING.startMs, () => {
        inst.state = 'running';
      });
      return this.change(inst, before);
    });
    return { $metadata: {}, StartingInstances: changes };
  }

  async stop(input: StopInstancesCommandInput) {
    const changes = this.each(input.InstanceIds, (inst): InstanceStateChange => {
      const before = inst.state;
      if (before === 'stopped') return this.change(inst, before);
      if (before !== 'running') {
        throw ec2Error(
          'IncorrectInstanceState',
          `The instance '${inst.id}' is not in a state from which it can be stopped.`,
        );
      }
      if (input.Hibernate && !inst.hibernationConfigured) {
        throw ec2Error(
          'UnsupportedHibernationConfiguration',
          `The instance '${inst.id}' is not enabled for hibernation.`,
        );
      }
      inst.state = 'stopping';
      const code = input.Hibernate ? 'Client.UserInitiatedHibernate' : 'Client.UserInitiatedShutdown';
      this.after(inst, input.Hibernate ? TIMING.hibernateMs : TIMING.stopMs, () => {
        inst.state = 'stopped';
        inst.reason = { Code: code, Message: `${code}: User initiated` };
      });
      return this.change(inst, before);
    });
    return { $metadata: {}, StoppingInstances: changes };
  }

  async terminate(input: TerminateInstancesCommandInput) {
    const changes = this.each(input.InstanceIds, (inst): InstanceStateChange => {
      const before = inst.state;
      if (before === 'shutting-down' || before === 'terminated') return this.change(inst, before);
      inst.state = 'shutting-down';
      inst.reason = {
        Code: 'Client.UserInitiatedShutdown',
        Message: 'Client.UserInitiatedShutdown: User initiated shutdown',
      };
      this.after(inst, TIMING.terminateMs, () => {
        inst.state = 'terminated';
      });
      return this.change(inst, before);
    });
    return { $metadata: {}, TerminatingInstances: changes };
  }

  async describeInstances(input: DescribeInstancesCommandInput): Promise<DescribeInstancesCommandOutput> {
    let matches: FakeInstance[];
    if (input.InstanceIds?.length) {
      expect(input.InstanceIds.length, 'DescribeInstances takes at most 1000 ids').toBeLessThanOrEqual(1000);
      expect(input.MaxResults, 'EC2 refuses InstanceIds with MaxResults').toBeUndefined();
      this.checkIds(input.InstanceIds);
      matches = input.InstanceIds.map((id) => this.instances.get(id)!);
    } else {
      matches = [...this.instances.values()].filter((inst) => this.matches(inst, input));
    }
    // Paginate only filtered listings (EC2 refuses MaxResults with InstanceIds).
    if (input.InstanceIds?.length)
      return { $metadata: {}, Reservations: [{ Instances: matches.map((i) => this.describe(i)) }] };
    const start = input.NextToken === undefined ? 0 : Number(this.tokens.get(input.NextToken));
    const page = matches.slice(start, start + this.pageSize);
    let NextToken: string | undefined;
    if (start + this.pageSize < matches.length) {
      NextToken = `token-${this.tokens.size + 1}`;
      this.tokens.set(NextToken, String(start + this.pageSize));
    }
    return {
      $metadata: {},
      // One reservation per instance, as separate RunInstances calls make.
      Reservations: page.map((i) => ({ Instances: [this.describe(i)] })),
      NextToken,
    };
  }

  private matches(inst: FakeInstance, input: DescribeInstancesCommandInput): boolean {
    return (input.Filters ?? []).every((f) => {
      const values = f.Values ?? [];
      if (f.Name === 'instance-state-name') return values.includes(inst.state);
      if (f.Name === 'tag-key') return values.some((k) => k in inst.tags);
      if (f.Name?.startsWith('tag:')) {
        const v = inst.tags[f.Name.slice(4)];
        return v !== undefined && values.includes(v);
      }
      throw ec2Error('InvalidParameterValue', `The filter '${f.Name}' is invalid`);
    });
  }

  private checkIds(ids: readonly string[]): void {
    const malformed = ids.filter((id) => !/^i-[0-9a-f]{8,17}$/.test(id));
    if (malformed.length > 0) throw ec2Error('InvalidInstanceID.Malformed', `Invalid id: "${malformed[0]}"`);
    const unknown = ids.filter((id) => !this.instances.has(id));
    if (unknown.length === 1)
      throw ec2Error('InvalidInstanceID.NotFound', `The instance ID '${unknown[0]}' does not exist`);
    if (unknown.length > 1) {
      throw ec2Error('InvalidInstanceID.NotFound', `The instance IDs '${unknown.join(', ')}' do not exist`);
    }
  }

  private each(
    ids: string[] | undefined,
    fn: (inst: FakeInstance) => InstanceStateChange,
  ): InstanceStateChange[] {
    this.checkIds(ids ?? []);
    return (ids ?? []).map((id) => fn(this.instances.get(id)!));
  }

  private change(inst: FakeInstance, before: InstanceStateName): InstanceStateChange {
    return { InstanceId: inst.id, PreviousState: { Name: before }, CurrentState: { Name: inst.state } };
  }

  private after(inst: FakeInstance, ms: number, fn: () => void): void {
    inst.cancel?.();
    const ctl = new AbortController();
    inst.cancel = () => ctl.abort();
    this.clock.sleep(ms, ctl.signal).then(
      () => {
        inst.cancel = undefined;
        fn();
      },
      () => undefined,
    );
  }

  private describe(inst: FakeInstance): Instance {
    return {
      InstanceId: inst.id,
      State: { Name: inst.state },
      ...(inst.reason ? { StateReason: inst.reason } : {}),
      Placement: { AvailabilityZone: inst.az, Tenancy: 'default' },
      Tags: Object.entries(inst.tags).map(([Key, Value]) => ({ Key, Value })),
      LaunchTime: new Date(inst.launchTime),
      RootDeviceName: '/dev/xvda',
      BlockDeviceMappings: [
        {
          DeviceName: '/dev/xvda',
          Ebs: { AttachTime: new Date(inst.firstLaunch), VolumeId: `vol-${inst.id.slice(2)}` },
        },
      ],
      HibernationOptions: { Configured: inst.hibernationConfigured },
    };
  }
}

describeProviderContract('ec2 (aws-sdk-client-mock, fake EC2 on a VirtualClock)', async () => {
  const clock = new VirtualClock();
  const fake = new FakeEc2(clock, { 'eu-west-1a': 20, 'eu-west-1b': 20, 'eu-west-1c': 2 });
  const client = new EC2Client({ region: 'eu-west-1' });
  const mock = mockClient(client);
  mock.on(RunInstancesCommand).callsFake((input: RunInstancesCommandInput) => fake.run(input));
  mock.on(StartInstancesCommand).callsFake((input: StartInstancesCommandInput) => fake.start(input));
  mock.on(StopInstancesCommand).callsFake((input: StopInstancesCommandInput) => fake.stop(input));
  mock
    .on(TerminateInstancesCommand)
    .callsFake((input: TerminateInstancesCommandInput) => fake.terminate(input));
  mock
    .on(DescribeInstancesCommand)
    .callsFake((input: DescribeInstancesCommandInput) => fake.describeInstances(input));
  const provider = new Ec2Provider({
    clock,
    client,
    region: 'eu-west-1',
    placement: {
      kind: 'availability-zone',
      hosts: [
        { name: 'eu-west-1a', capacity: 20 },
        { name: 'eu-west-1b', capacity: 20 },
        { name: 'eu-west-1c', capacity: 2 },
      ],
    },
    hibernation: true,
    hibernatedPools: ['contract', 'contract-other'],
  });
  return {
    provider,
    hosts: ['eu-west-1a', 'eu-west-1b'],
    pool: 'contract',
    run: (fn) => clock.run(fn),
    capacityLimited: { host: 'eu-west-1c', free: 2 },
    unknownId: 'i-0000000000000dead',
    teardown: async () => {
      mock.restore();
    },
  };
});
