/**
 * The EC2 adapter's requests and answers, against a mocked EC2Client (aws-sdk-client-mock; no EC2 emulator
 * runs here): tags, filters, placement of each kind, the hibernation option and the ClientToken of a launch;
 * pagination and batching of DescribeInstances; the backoff of waitFor on a VirtualClock; the status mapping;
 * every EC2 error the controller acts on, as the port's typed error; the config's ec2 provider and its
 * refusals; and a config mixing a sim pool and an ec2 pool, run by a Controller.
 */
import {
  DescribeInstancesCommand,
  type DescribeInstancesCommandInput,
  EC2Client,
  type EC2ClientResolvedConfig,
  EC2ServiceException,
  type Instance,
  type InstanceStateName,
  RunInstancesCommand,
  type RunInstancesCommandInput,
  type ServiceInputTypes,
  type ServiceOutputTypes,
  StartInstancesCommand,
  type StartInstancesCommandInput,
  StopInstancesCommand,
  type StopInstancesCommandInput,
  TerminateInstancesCommand,
  type TerminateInstancesCommandInput,
} from '@aws-sdk/client-ec2';
import { type AwsStub, mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../lib/clock/index.js';
import { isConfigError, parseConfig, parseConfigText } from '../../lib/config/index.js';
import { Controller } from '../../lib/controller/index.js';
import { MemoryEventSink } from '../../lib/events/index.js';
import { silentLogger } from '../../lib/log/index.js';
import {
  ConflictError,
  DEFAULT_RETRY_AFTER_MS,
  Ec2Provider,
  type Ec2ProviderOptions,
  InsufficientCapacityError,
  NotFoundError,
  PermissionError,
  RateLimitedError,
  statusOf,
  TAGS,
  TransientError,
  UnsupportedError,
  viewOf,
} from '../../lib/providers/index.js';
import { buildProviders } from '../../lib/runtime/index.js';
import { MemoryStore } from '../../lib/store/index.js';

type Ec2Mock = AwsStub<ServiceInputTypes, ServiceOutputTypes, EC2ClientResolvedConfig>;

const REGION = 'eu-west-1';
const ID = (n: number) => `i-${n.toString(16).padStart(17, '0')}`;

function ec2Error(
  name: string,
  fault: 'client' | 'server' = 'client',
  extra: { message?: string; totalRetryDelay?: number; httpStatusCode?: number } = {},
): EC2ServiceException {
  const metadata: { httpStatusCode?: number; totalRetryDelay?: number } = {};
  if (extra.httpStatusCode !== undefined) metadata.httpStatusCode = extra.httpStatusCode;
  if (extra.totalRetryDelay !== undefined) metadata.totalRetryDelay = extra.totalRetryDelay;
  return new EC2ServiceException({
    name,
    message: extra.message ?? `${name} (test)`,
    $fault: fault,
    $metadata: metadata,
  });
}

function instance(
  id: string,
  state: InstanceStateName,
  more: Partial<Instance> & { tags?: Record<string, string> } = {},
): Instance {
  const { tags, ...rest } = more;
  return {
    InstanceId: id,
    State: { Name: state },
    Placement: { AvailabilityZone: 'eu-west-1a' },
    LaunchTime: new Date(1000),
    Tags: Object.entries(tags ?? { [TAGS.pool]: 'web', [TAGS.generation]: '2' }).map(([Key, Value]) => ({
      Key,
      Value,
    })),
    ...rest,
  };
}

const page = (...instances: Instance[]) => ({ Reservations: [{ Instances: instances }] });

let mocks: Ec2Mock[] = [];
afterEach(() => {
  for (const m of mocks) m.restore();
  mocks = [];
});

function setup(options: Partial<Ec2ProviderOptions> = {}) {
  const clock = new VirtualClock();
  const client = new EC2Client({ region: REGION });
  const mock = mockClient(client);
  mocks.push(mock);
  const provider = new Ec2Provider({
    clock,
    client,
    region: REGION,
    placement: {
      kind: 'availability-zone',
      hosts: [
        { name: 'eu-west-1a', capacity: 10 },
        { name: 'eu-west-1b', capacity: 5 },
      ],
    },
    hibernation: true,
    ...options,
  });
  return { clock, client, mock, provider };
}

/** The input of each call the mock received, in order: `inputsOf(mock.commandCalls(RunInstancesCommand))`. */
function inputsOf<T>(calls: readonly { args: readonly [{ input: T }] }[]): T[] {
  return calls.map((call) => call.args[0].input);
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection, got none');
}

const launched = (id: string, az = 'eu-west-1a') => ({
  Instances: [instance(id, 'pending', { Placement: { AvailabilityZone: az } })],
});

// ─────────────────────────────────────────────────────────────────────────────────────────────────────────

describe('Ec2Provider.create', () => {
  it('launches from a launch template, tagged with pool, generation, purpose and extra tags, with a ClientToken', async () => {
    const { mock, provider } = setup({ clientToken: () => 'token-1' });
    mock.on(RunInstancesCommand).resolves(launched(ID(1)));

    const inst = await provider.create({
      pool: 'web',
      host: 'eu-west-1a',
      params: { LaunchTemplateId: 'lt-0abc', LaunchTemplateVersion: '7' },
      generation: 4,
      // A caller's tag cannot take the pool's membership over.
      tags: { [TAGS.purpose]: 'warm', team: 'search', [TAGS.pool]: 'not-web' },
    });

    const [input] = inputsOf(mock.commandCalls(RunInstancesCommand));
    const tags = [
      { Key: TAGS.purpose, Value: 'warm' },
      { Key: 'team', Value: 'search' },
      { Key: TAGS.pool, Value: 'web' },
      { Key: TAGS.generation, Value: '4' },
    ];
    expect(input).toEqual({
      MinCount: 1,
      MaxCount: 1,
      ClientToken: 'token-1',
      LaunchTemplate: { LaunchTemplateId: 'lt-0abc', Version: '7' },
      Placement: { AvailabilityZone: 'eu-west-1a' },
      TagSpecifications: [
        { ResourceType: 'instance', Tags: tags },
        { ResourceType: 'volume', Tags: tags },
      ],
    });
    expect(inst).toMatchObject({
      id: ID(1),
      pool: 'web',
      host: 'eu-west-1a',
      status: 'building',
      busy: true,
    });
    expect(inst.generation).toBe(4);
    expect(inst.tags).toMatchObject({ [TAGS.pool]: 'web', [TAGS.purpose]: 'warm', team: 'search' });
  });

  it('takes a launch template by name at its default version', async () => {
    const { mock, provider } = setup();
    mock.on(RunInstancesCommand).resolves(launched(ID(1)));
    await provider.create({
      pool: 'web',
      host: 'eu-west-1a',
      params: { LaunchTemplateName: 'web' },
      generation: 1,
    });
    expect(inputsOf(mock.commandCalls(RunInstancesCommand))[0]?.LaunchTemplate).toEqual({
      LaunchTemplateName: 'web',
      Version: '$Default',
    });
  });

  it('launches from explicit parameters', async () => {
    const { mock, provider } = setup();
    mock.on(RunInstancesCommand).resolves(launched(ID(1)));
    await provider.create({
      pool: 'web',
      host: 'eu-west-1b',
      params: {
        ImageId: 'ami-0123',
        InstanceType: 'c7g.large',
        SubnetId: 'subnet-0aa',
        SecurityGroupIds: 'sg-1, sg-2',
        KeyName: 'ops',
        IamInstanceProfile: 'web-profile',
      },
      generation: 1,
    });
    await provider.create({
      pool: 'web',
      host: 'eu-west-1b',
      params: { ImageId: 'ami-0123', IamInstanceProfile: 'arn:aws:iam::123456789012:instance-profile/web' },
      generation: 1,
    });
    const [first, second] = inputsOf(mock.commandCalls(RunInstancesCommand));
    expect(first).toMatchObject({
      ImageId: 'ami-0123',
      InstanceType: 'c7g.large',
      SubnetId: 'subnet-0aa',
      SecurityGroupIds: ['sg-1', 'sg-2'],
      KeyName: 'ops',
      IamInstanceProfile: { Name: 'web-profile' },
      Placement: { AvailabilityZone: 'eu-west-1b' },
    });
    expect(first?.LaunchTemplate).toBeUndefined();
    expect(second?.IamInstanceProfile).toEqual({ Arn: 'arn:aws:iam::123456789012:instance-profile/web' });
  });

  it('makes a new random ClientToken for each launch by default', async () => {
    const { mock, provider } = setup();
    mock.on(RunInstancesCommand).resolves(launched(ID(1)));
    for (let i = 0; i < 2; i++)
      await provider.create({ pool: 'web', host: 'eu-west-1a', params: {}, generation: 1 });
    const tokens = inputsOf(mock.commandCalls(RunInstancesCommand)).map((i) => i.ClientToken);
    expect(tokens[0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(tokens[1]).toMatch(/^[0-9a-f-]{36}$/);
    expect(tokens[0]).not.toBe(tokens[1]);
  });

  it.each([
    [
      'a Dedicated Host',
      'dedicated-host',
      'h-0123456789abcdef0',
      { HostId: 'h-0123456789abcdef0', Tenancy: 'host' },
    ],
    [
      'a partition of a placement group',
      'partition',
      'cache-pg:3',
      { GroupName: 'cache-pg', PartitionNumber: 3 },
    ],
    ['an Availability Zone', 'availability-zone', 'eu-west-1c', { AvailabilityZone: 'eu-west-1c' }],
  ] as const)('places the launch on %s and reads the host back', async (_, kind, host, placement) => {
    const { mock, provider } = setup({ placement: { kind, hosts: [{ name: host, capacity: 4 }] } });
    mock
      .on(RunInstancesCommand)
      .resolves({ Instances: [instance(ID(9), 'pending', { Placement: placement })] });
    const inst = await provider.create({ pool: 'web', host, params: {}, generation: 1 });
    expect(inputsOf(mock.commandCalls(RunInstancesCommand))[0]?.Placement).toEqual(placement);
    expect(inst.host).toBe(host);
    expect(viewOf(instance(ID(9), 'running', { Placement: placement }), kind).host).toBe(host);
  });

  it('configures hibernation at launch for the pools that hibernate, and only for them', async () => {
    const { mock, provider } = setup({ hibernatedPools: ['cache'] });
    mock.on(RunInstancesCommand).resolves(launched(ID(1)));
    await provider.create({ pool: 'cache', host: 'eu-west-1a', params: {}, generation: 1 });
    await provider.create({ pool: 'web', host: 'eu-west-1a', params: {}, generation: 1 });
    const [cache, web] = inputsOf(mock.commandCalls(RunInstancesCommand));
    expect(cache?.HibernationOptions).toEqual({ Configured: true });
    expect(web?.HibernationOptions).toBeUndefined();
  });

  it('refuses an unknown host with NotFoundError and an unknown param with UnsupportedError, asking EC2 nothing', async () => {
    const { mock, provider } = setup();
    const unknownHost = await rejection(
      provider.create({ pool: 'web', host: 'us-east-1a', params: {}, generation: 1 }),
    );
    expect(unknownHost).toBeInstanceOf(NotFoundError);
    expect(String(unknownHost)).toContain('no placement "us-east-1a" (configured: eu-west-1a, eu-west-1b)');
    const typo = await rejection(
      provider.create({ pool: 'web', host: 'eu-west-1a', params: { ImageID: 'ami-1' }, generation: 1 }),
    );
    expect(typo).toBeInstanceOf(UnsupportedError);
    expect(String(typo)).toContain('unknown launch parameter "ImageID"');
    const twice = await rejection(
      provider.create({
        pool: 'web',
        host: 'eu-west-1a',
        params: { LaunchTemplateId: 'lt-1', LaunchTemplateName: 'web' },
        generation: 1,
      }),
    );
    expect(twice).toBeInstanceOf(UnsupportedError);
    expect(mock.calls()).toHaveLength(0);
  });
});

describe('Ec2Provider sleep and wake', () => {
  it('stops, or stops with Hibernate, and starts', async () => {
    const { mock, provider } = setup();
    mock.on(StopInstancesCommand).resolves({
      StoppingInstances: [
        { InstanceId: ID(1), PreviousState: { Name: 'running' }, CurrentState: { Name: 'stopping' } },
      ],
    });
    mock.on(StartInstancesCommand).resolves({
      StartingInstances: [
        { InstanceId: ID(1), PreviousState: { Name: 'stopped' }, CurrentState: { Name: 'pending' } },
      ],
    });
    await provider.sleep(ID(1), 'stopped');
    await provider.sleep(ID(1), 'hibernated');
    await provider.wake(ID(1), 'hibernated');
    expect(inputsOf(mock.commandCalls(StopInstancesCommand))).toEqual([
      { InstanceIds: [ID(1)], Hibernate: false },
      { InstanceIds: [ID(1)], Hibernate: true },
    ]);
    expect(inputsOf(mock.commandCalls(StartInstancesCommand))).toEqual([{ InstanceIds: [ID(1)] }]);
  });

  it('keeps a pre-booted (running) instance as it is: no API call', async () => {
    const { mock, provider } = setup();
    await provider.sleep(ID(1), 'running');
    await provider.wake(ID(1), 'running');
    expect(mock.calls()).toHaveLength(0);
  });

  it('refuses states EC2 cannot hold, and hibernation when the provider has it off', async () => {
    const { mock, provider } = setup({ hibernation: false });
    for (const state of ['paused', 'suspended', 'shelved'] as const) {
      const err = await rejection(provider.sleep(ID(1), state));
      expect(err).toBeInstanceOf(UnsupportedError);
      expect(String(err)).toContain(`ec2 cannot hold "${state}" (supported: stopped, hibernated, running)`);
    }
    expect(await rejection(provider.sleep(ID(1), 'hibernated'))).toBeInstanceOf(UnsupportedError);
    expect(mock.calls()).toHaveLength(0);
  });

  it('calls a stop of a stopped instance and a start of a running one conflicts (EC2 itself accepts both)', async () => {
    const { mock, provider } = setup();
    mock.on(StopInstancesCommand).resolves({
      StoppingInstances: [
        { InstanceId: ID(1), PreviousState: { Name: 'stopped' }, CurrentState: { Name: 'stopped' } },
      ],
    });
    mock.on(StartInstancesCommand).resolves({
      StartingInstances: [
        { InstanceId: ID(1), PreviousState: { Name: 'running' }, CurrentState: { Name: 'running' } },
      ],
    });
    expect(await rejection(provider.sleep(ID(1), 'stopped'))).toBeInstanceOf(ConflictError);
    expect(await rejection(provider.wake(ID(1), 'stopped'))).toBeInstanceOf(ConflictError);
  });

  it('refuses an id that is not an EC2 instance id with NotFoundError, asking EC2 nothing', async () => {
    const { mock, provider } = setup();
    for (const call of [
      () => provider.sleep('web-1', 'stopped'),
      () => provider.wake('web-1', 'stopped'),
      () => provider.delete('web-1'),
      () => provider.get('web-1'),
    ]) {
      expect(await rejection(call())).toBeInstanceOf(NotFoundError);
    }
    expect(mock.calls()).toHaveLength(0);
  });
});

describe('Ec2Provider reads', () => {
  it('lists a pool by tag filter, excluding instances on their way out, following NextToken', async () => {
    const { mock, provider } = setup();
    mock.on(DescribeInstancesCommand).callsFake(async (input: DescribeInstancesCommandInput) => {
      if (input.NextToken === undefined) return { ...page(instance(ID(1), 'running')), NextToken: 'p2' };
      if (input.NextToken === 'p2') return { ...page(instance(ID(2), 'stopped')), NextToken: 'p3' };
      return page(instance(ID(3), 'pending'));
    });

    const listed = await provider.list('web');

    expect(listed.map((i) => [i.id, i.status])).toEqual([
      [ID(1), 'running'],
      [ID(2), 'stopped'],
      [ID(3), 'building'],
    ]);
    const calls = inputsOf(mock.commandCalls(DescribeInstancesCommand));
    expect(calls.map((c) => c.NextToken)).toEqual([undefined, 'p2', 'p3']);
    expect(calls[0]).toEqual({
      Filters: [
        { Name: 'tag:warmpool:pool', Values: ['web'] },
        { Name: 'instance-state-name', Values: ['pending', 'running', 'stopping', 'stopped'] },
      ],
      MaxResults: 1000,
    });
  });

  it('counts warmpool’s instances per placement in hosts(), capacity from config', async () => {
    const { mock, provider } = setup();
    mock
      .on(DescribeInstancesCommand)
      .resolves(
        page(
          instance(ID(1), 'running'),
          instance(ID(2), 'stopped'),
          instance(ID(3), 'pending', { Placement: { AvailabilityZone: 'eu-west-1b' } }),
        ),
      );
    expect(await provider.hosts()).toEqual([
      { name: 'eu-west-1a', capacity: 10, used: 2 },
      { name: 'eu-west-1b', capacity: 5, used: 1 },
    ]);
    expect(inputsOf(mock.commandCalls(DescribeInstancesCommand))[0]?.Filters).toEqual([
      { Name: 'tag-key', Values: ['warmpool:pool'] },
      { Name: 'instance-state-name', Values: ['pending', 'running', 'stopping', 'stopped'] },
    ]);
  });

  it('gets an instance, and throws NotFoundError for one that is terminated or unknown', async () => {
    const { mock, provider } = setup();
    mock
      .on(DescribeInstancesCommand, { InstanceIds: [ID(1)] })
      .resolves(page(instance(ID(1), 'running')))
      .on(DescribeInstancesCommand, { InstanceIds: [ID(2)] })
      .resolves(page(instance(ID(2), 'terminated')))
      .on(DescribeInstancesCommand, { InstanceIds: [ID(3)] })
      .rejects(
        ec2Error('InvalidInstanceID.NotFound', 'client', {
          message: `The instance ID '${ID(3)}' does not exist`,
        }),
      );
    expect(await provider.get(ID(1))).toMatchObject({
      id: ID(1),
      status: 'running',
      pool: 'web',
      generation: 2,
    });
    expect(await rejection(provider.get(ID(2)))).toBeInstanceOf(NotFoundError);
    expect(await rejection(provider.get(ID(3)))).toBeInstanceOf(NotFoundError);
  });

  it('trusts its own launch while DescribeInstances does not know it yet (EC2 is eventually consistent)', async () => {
    const { clock, mock, provider } = setup({ consistencyGraceMs: 30_000 });
    mock.on(RunInstancesCommand).resolves(launched(ID(5)));
    mock.on(DescribeInstancesCommand).rejects(
      ec2Error('InvalidInstanceID.NotFound', 'client', {
        message: `The instance ID '${ID(5)}' does not exist`,
      }),
    );
    await provider.create({ pool: 'web', host: 'eu-west-1a', params: {}, generation: 1 });
    expect(await provider.get(ID(5))).toMatchObject({ id: ID(5), status: 'building', busy: true });
    await clock.advance(30_001);
    expect(await rejection(provider.get(ID(5)))).toBeInstanceOf(NotFoundError);
  });
});

describe('Ec2Provider.waitFor', () => {
  it('polls with a backoff from 1 s to 5 s on the injected clock until the instance is there', async () => {
    const { clock, mock, provider } = setup();
    const polledAt: number[] = [];
    mock.on(DescribeInstancesCommand).callsFake(async () => {
      polledAt.push(clock.now());
      return page(instance(ID(1), clock.now() >= 15_000 ? 'running' : 'pending'));
    });
    const res = await clock.run(() => provider.waitFor([ID(1)], 'running', { timeoutMs: 600_000 }));
    expect(res.ready.map((r) => r.id)).toEqual([ID(1)]);
    expect(res.failed).toEqual([]);
    expect(res.timedOut).toEqual([]);
    expect(polledAt).toEqual([0, 1000, 3000, 7000, 12000, 17000]);
  });

  it('times out at the deadline, not later', async () => {
    const { clock, mock, provider } = setup();
    mock.on(DescribeInstancesCommand).resolves(page(instance(ID(1), 'pending')));
    const res = await clock.run(() => provider.waitFor([ID(1)], 'running', { timeoutMs: 2_500 }));
    expect(res.timedOut).toEqual([ID(1)]);
    expect(clock.now()).toBe(2_500);
  });

  it('asks for at most 1000 ids per DescribeInstances', async () => {
    const { clock, mock, provider } = setup();
    mock
      .on(DescribeInstancesCommand)
      .callsFake(async (input: DescribeInstancesCommandInput) =>
        page(...(input.InstanceIds ?? []).map((id) => instance(id, 'stopped'))),
      );
    const ids = Array.from({ length: 2500 }, (_, i) => ID(i + 1));
    const res = await clock.run(() => provider.waitFor(ids, 'stopped', { timeoutMs: 60_000 }));
    expect(res.ready).toHaveLength(2500);
    const sizes = inputsOf(mock.commandCalls(DescribeInstancesCommand)).map((c) => c.InstanceIds?.length);
    expect(sizes).toEqual([1000, 1000, 500]);
  });

  it('sets aside the ids EC2 says it does not know and asks again for the rest', async () => {
    const { clock, mock, provider } = setup();
    mock.on(DescribeInstancesCommand).callsFake(async (input: DescribeInstancesCommandInput) => {
      const ids = input.InstanceIds ?? [];
      if (ids.includes(ID(2))) {
        throw ec2Error('InvalidInstanceID.NotFound', 'client', {
          message: `The instance ID '${ID(2)}' does not exist`,
        });
      }
      return page(...ids.map((id) => instance(id, 'running')));
    });
    const res = await clock.run(() =>
      provider.waitFor([ID(1), ID(2), ID(3)], 'running', { timeoutMs: 60_000 }),
    );
    expect(res.ready.map((r) => r.id)).toEqual([ID(1), ID(3)]);
    expect(res.failed).toEqual([{ id: ID(2), reason: 'not found' }]);
  });

  it('reports a terminated instance as failed, or ready when waiting for deleted once it has finished', async () => {
    const { clock, mock, provider } = setup();
    let state: InstanceStateName = 'shutting-down';
    mock.on(DescribeInstancesCommand).callsFake(async () => {
      const now = page(
        instance(ID(1), state, {
          StateReason: {
            Code: 'Server.InternalError',
            Message: 'Server.InternalError: Internal error on launch',
          },
        }),
      );
      state = 'terminated';
      return now;
    });
    const failed = await clock.run(() => provider.waitFor([ID(1)], 'running', { timeoutMs: 60_000 }));
    expect(failed.failed).toEqual([
      { id: ID(1), reason: 'deleted: Server.InternalError: Internal error on launch' },
    ]);
    state = 'shutting-down';
    const gone = await clock.run(() => provider.waitFor([ID(1)], 'deleted', { timeoutMs: 60_000 }));
    expect(gone.ready.map((r) => [r.id, r.status])).toEqual([[ID(1), 'deleted']]);
    expect(clock.now()).toBe(1000); // shutting-down was still busy: one more poll
  });

  it('rides out a throttled poll and stops on a permission error', async () => {
    const { clock, mock, provider } = setup();
    mock
      .on(DescribeInstancesCommand)
      .rejectsOnce(ec2Error('RequestLimitExceeded', 'client', { totalRetryDelay: 4_000 }))
      .resolves(page(instance(ID(1), 'running')));
    const res = await clock.run(() => provider.waitFor([ID(1)], 'running', { timeoutMs: 60_000 }));
    expect(res.ready.map((r) => r.id)).toEqual([ID(1)]);
    expect(clock.now()).toBe(4_000); // waited the retry-after, not the 1 s backoff

    mock.reset();
    mock.on(DescribeInstancesCommand).rejects(ec2Error('UnauthorizedOperation'));
    expect(
      await clock.run(() => rejection(provider.waitFor([ID(1)], 'running', { timeoutMs: 60_000 }))),
    ).toBeInstanceOf(PermissionError);
  });

  it('rejects with the signal’s reason when aborted', async () => {
    const { clock, mock, provider } = setup();
    mock.on(DescribeInstancesCommand).resolves(page(instance(ID(1), 'pending')));
    const abort = new AbortController();
    const reason = new Error('stop');
    setTimeout(() => abort.abort(reason), 0);
    const err = await clock.run(() =>
      rejection(provider.waitFor([ID(1)], 'running', { timeoutMs: 600_000, signal: abort.signal })),
    );
    expect(err).toBe(reason);
  });
});

describe('EC2 states as the port’s statuses', () => {
  it.each([
    ['pending', undefined, 'building', true],
    ['running', undefined, 'running', false],
    ['stopping', undefined, 'running', true],
    ['stopped', 'Client.UserInitiatedShutdown', 'stopped', false],
    ['stopped', 'Client.UserInitiatedHibernate', 'hibernated', false],
    ['shutting-down', 'Client.UserInitiatedShutdown', 'deleted', true],
    ['terminated', 'Client.UserInitiatedShutdown', 'deleted', false],
  ] as const)('%s (%s) is %s, busy %s', (state, reason, status, busy) => {
    const inst = instance(ID(1), state, reason ? { StateReason: { Code: reason, Message: reason } } : {});
    expect(statusOf(inst)).toEqual({ status, busy });
    expect(viewOf(inst, 'availability-zone').fault).toBeUndefined();
  });

  it('dates an instance from its first launch, not its latest start', () => {
    const inst = instance(ID(1), 'running', {
      LaunchTime: new Date(90_000),
      RootDeviceName: '/dev/xvda',
      BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { AttachTime: new Date(2_000) } }],
    });
    expect(viewOf(inst, 'availability-zone').createdAt).toBe(2_000);
  });
});

describe('EC2 errors as the port’s typed errors', () => {
  const CASES = [
    ['InsufficientInstanceCapacity', 'server', InsufficientCapacityError],
    ['InsufficientHostCapacity', 'server', InsufficientCapacityError],
    ['RequestLimitExceeded', 'client', RateLimitedError],
    ['ThrottlingException', 'client', RateLimitedError],
    ['Throttling', 'client', RateLimitedError],
    ['TooManyRequestsException', 'client', RateLimitedError],
    ['IncorrectInstanceState', 'client', ConflictError],
    ['InvalidInstanceID.NotFound', 'client', NotFoundError],
    ['InvalidInstanceID.Malformed', 'client', NotFoundError],
    ['UnauthorizedOperation', 'client', PermissionError],
    ['InternalError', 'server', TransientError],
    ['ServiceUnavailable', 'server', TransientError],
    ['TimeoutError', 'client', TransientError],
  ] as const;

  /** One call of each kind, and how to make the command it sends fail. */
  const OPS: readonly [string, (m: Ec2Mock, err: Error) => void, (p: Ec2Provider) => Promise<unknown>][] = [
    [
      'create',
      (m, err) => m.on(RunInstancesCommand).rejects(err),
      (p) => p.create({ pool: 'web', host: 'eu-west-1b', params: {}, generation: 1 }),
    ],
    ['wake', (m, err) => m.on(StartInstancesCommand).rejects(err), (p) => p.wake(ID(1), 'stopped')],
    ['sleep', (m, err) => m.on(StopInstancesCommand).rejects(err), (p) => p.sleep(ID(1), 'hibernated')],
    ['delete', (m, err) => m.on(TerminateInstancesCommand).rejects(err), (p) => p.delete(ID(1))],
    ['list', (m, err) => m.on(DescribeInstancesCommand).rejects(err), (p) => p.list('web')],
    ['hosts', (m, err) => m.on(DescribeInstancesCommand).rejects(err), (p) => p.hosts()],
  ];

  for (const [name, fault, type] of CASES) {
    it(`${name} → ${type.name} on every call`, async () => {
      for (const [op, fail, run] of OPS) {
        const { mock, provider } = setup();
        fail(mock, ec2Error(name, fault));
        const err = await rejection(run(provider));
        expect(err, op).toBeInstanceOf(type);
        expect(String(err), op).toContain(name);
        expect((err as Error).cause, op).toBeInstanceOf(EC2ServiceException);
      }
    });
  }

  it('names the host that had no capacity', async () => {
    const { mock, provider } = setup();
    mock.on(RunInstancesCommand).rejects(ec2Error('InsufficientInstanceCapacity', 'server'));
    const err = await rejection(
      provider.create({ pool: 'web', host: 'eu-west-1b', params: {}, generation: 1 }),
    );
    expect((err as InsufficientCapacityError).host).toBe('eu-west-1b');
  });

  it('takes retry-after from the SDK’s retries ($metadata.totalRetryDelay), else a default', async () => {
    const { mock, provider } = setup();
    mock
      .on(StartInstancesCommand)
      .rejectsOnce(ec2Error('RequestLimitExceeded', 'client', { totalRetryDelay: 7_500 }))
      .rejectsOnce(ec2Error('RequestLimitExceeded'));
    const spent = await rejection(provider.wake(ID(1), 'stopped'));
    const none = await rejection(provider.wake(ID(1), 'stopped'));
    expect((spent as RateLimitedError).retryAfterMs).toBe(7_500);
    expect((none as RateLimitedError).retryAfterMs).toBe(DEFAULT_RETRY_AFTER_MS);
  });

  it('treats any throttling the SDK flags, 429, 5xx and dropped connections as retryable', async () => {
    const { mock, provider } = setup();
    const flagged = Object.assign(ec2Error('SomeNewThrottle'), { $retryable: { throttling: true } });
    const tooMany = ec2Error('Whatever', 'client', { httpStatusCode: 429 });
    const bad = ec2Error('Unknown', 'client', { httpStatusCode: 503 });
    const reset = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    mock
      .on(TerminateInstancesCommand)
      .rejectsOnce(flagged)
      .rejectsOnce(tooMany)
      .rejectsOnce(bad)
      .rejectsOnce(reset);
    expect(await rejection(provider.delete(ID(1)))).toBeInstanceOf(RateLimitedError);
    expect(await rejection(provider.delete(ID(1)))).toBeInstanceOf(RateLimitedError);
    expect(await rejection(provider.delete(ID(1)))).toBeInstanceOf(TransientError);
    expect(await rejection(provider.delete(ID(1)))).toBeInstanceOf(TransientError);
  });

  it('passes an error the controller cannot act on through unchanged', async () => {
    const { mock, provider } = setup();
    const invalid = ec2Error('InvalidParameterValue');
    mock.on(RunInstancesCommand).rejects(invalid);
    expect(
      await rejection(provider.create({ pool: 'web', host: 'eu-west-1a', params: {}, generation: 1 })),
    ).toBe(invalid);
  });
});

describe('the EC2 client', () => {
  it('is built for the region with adaptive retries when none is injected', async () => {
    const clock = new VirtualClock();
    const placement = { kind: 'availability-zone' as const, hosts: [{ name: 'eu-west-1a', capacity: 1 }] };
    const plain = new Ec2Provider({ clock, region: REGION, placement });
    expect(plain.client.config.retryMode).toBe('adaptive');
    expect(await plain.client.config.maxAttempts()).toBe(5);
    expect(await plain.client.config.region()).toBe(REGION);
    const three = new Ec2Provider({ clock, region: 'us-east-2', placement, maxAttempts: 3 });
    expect(await three.client.config.maxAttempts()).toBe(3);
    expect(await three.client.config.region()).toBe('us-east-2');
  });
});

// ─────────────────────────────────────────────────────────────────────────────────────────────────────────
// config

const EC2_PROVIDER = `
  aws:
    kind: ec2
    region: eu-west-1
    placement:
      kind: availability-zone
      hosts: [{ name: eu-west-1a, capacity: 10 }, { name: eu-west-1b, capacity: 10 }]
`;

function ec2Config(warm: string, provider = EC2_PROVIDER): string {
  return `
providers:${provider}
pools:
  - name: api
    provider: aws
    template: { params: { LaunchTemplateName: api } }
    warm: ${warm}
    capacity: { metric: requests_per_s, perInstance: 50 }
`;
}

function problemsOf(text: string): string[] {
  try {
    parseConfig(parseConfigText(text, 'test.yaml'), 'test.yaml', {});
  } catch (err) {
    if (isConfigError(err)) return err.problems;
    throw err;
  }
  throw new Error('expected a ConfigError, got none');
}

describe('the ec2 provider in config', () => {
  it('validates with its defaults: hibernation off, five attempts', () => {
    const { config } = parseConfig(
      parseConfigText(ec2Config('{ state: stopped, hosts: [eu-west-1a] }'), 'test.yaml'),
      'test.yaml',
      {},
    );
    expect(config.providers.aws).toEqual({
      kind: 'ec2',
      region: 'eu-west-1',
      placement: {
        kind: 'availability-zone',
        hosts: [
          { name: 'eu-west-1a', capacity: 10 },
          { name: 'eu-west-1b', capacity: 10 },
        ],
      },
      hibernation: false,
      maxAttempts: 5,
    });
  });

  it.each(['paused', 'suspended', 'shelved'])('refuses a pool that would keep ec2 instances %s', (state) => {
    expect(problemsOf(ec2Config(`{ state: ${state}, hosts: [eu-west-1a] }`))).toEqual([
      `pools[0].warm.state: ec2 cannot hold "${state}" (supported: stopped, hibernated, running)`,
    ]);
  });

  it('refuses the default warm state (paused) on ec2, so an ec2 pool must say how it sleeps', () => {
    expect(problemsOf(ec2Config('{ hosts: [eu-west-1a] }'))).toEqual([
      'pools[0].warm.state: ec2 cannot hold "paused" (supported: stopped, hibernated, running)',
    ]);
  });

  it('refuses hibernated unless the provider says hibernation: true', () => {
    expect(problemsOf(ec2Config('{ state: hibernated, hosts: [eu-west-1a] }'))).toEqual([
      'pools[0].warm.state: provider "aws" (ec2) has hibernation off: set providers.aws.hibernation: true to keep instances hibernated (the launch template / AMI must support hibernation: an encrypted EBS root volume with room for the RAM, a supported instance family)',
    ]);
    const on = `${EC2_PROVIDER}    hibernation: true\n`;
    const { pools } = parseConfig(
      parseConfigText(ec2Config('{ state: hibernated, hosts: [eu-west-1a] }', on), 'test.yaml'),
      'test.yaml',
      {},
    );
    expect(pools[0]?.warmState).toBe('hibernated');
  });

  it('refuses a pool host that is not one of the placements', () => {
    expect(problemsOf(ec2Config('{ state: stopped, hosts: [eu-west-1a, eu-west-1z] }'))).toEqual([
      'pools[0].warm.hosts[1]: "eu-west-1z" is not a host of provider "aws" (hosts: eu-west-1a, eu-west-1b)',
    ]);
  });

  it.each([
    [
      'an Availability Zone of another region',
      'availability-zone',
      'eu-west-2a',
      'must be an Availability Zone of eu-west-1, e.g. eu-west-1a (got "eu-west-2a")',
    ],
    [
      'a Dedicated Host that is no host id',
      'dedicated-host',
      'host-1',
      'must be a Dedicated Host id, e.g. h-0123456789abcdef0 (got "host-1")',
    ],
    [
      'a partition without its number',
      'partition',
      'cache-pg',
      'must be <placement group>:<partition number 1 to 7>, e.g. cache-pg:1 (got "cache-pg")',
    ],
  ])('refuses %s', (_, kind, host, message) => {
    const provider = `
  aws:
    kind: ec2
    region: eu-west-1
    placement: { kind: ${kind}, hosts: [{ name: "${host}", capacity: 4 }] }
`;
    expect(problemsOf(ec2Config(`{ state: stopped, hosts: ["${host}"] }`, provider))).toEqual([
      `providers.aws.placement.hosts[0].name: ${message}`,
    ]);
  });

  it('accepts every placement kind, Local Zones included', () => {
    for (const [kind, host] of [
      ['availability-zone', 'eu-west-1-lax-1a'],
      ['dedicated-host', 'h-0123456789abcdef0'],
      ['partition', 'cache-pg:7'],
    ]) {
      const provider = `
  aws:
    kind: ec2
    region: eu-west-1
    placement: { kind: ${kind}, hosts: [{ name: "${host}", capacity: 4 }] }
`;
      const { pools } = parseConfig(
        parseConfigText(ec2Config(`{ state: running, hosts: ["${host}"] }`, provider), 'test.yaml'),
        'test.yaml',
        {},
      );
      expect(pools[0]?.hosts.map((h) => h.name)).toEqual([host]);
    }
  });

  it('refuses a bad region, a duplicate placement and credentials in the file', () => {
    const provider = `
  aws:
    kind: ec2
    region: Ireland
    accessKeyId: AKIAEXAMPLE
    placement:
      kind: availability-zone
      hosts: [{ name: eu-west-1a, capacity: 1 }, { name: eu-west-1a, capacity: 2 }]
`;
    const problems = problemsOf(ec2Config('{ state: stopped, hosts: [eu-west-1a] }', provider));
    expect(problems).toContain('providers.aws.region: must be an AWS region, e.g. eu-west-1 (got "Ireland")');
    expect(problems.some((p) => p.startsWith('providers.aws.accessKeyId: unknown key'))).toBe(true);
    // The placement checks read the region, which failed: they wait for it to be right.
    const fixed = problemsOf(
      ec2Config(
        '{ state: stopped, hosts: [eu-west-1a] }',
        provider.replace('Ireland', 'eu-west-1').replace('    accessKeyId: AKIAEXAMPLE\n', ''),
      ),
    );
    expect(fixed).toEqual([
      'providers.aws.placement.hosts[1].name: duplicate host "eu-west-1a" (already listed as placement.hosts[0])',
    ]);
  });
});

// ─────────────────────────────────────────────────────────────────────────────────────────────────────────
// a sim pool and an ec2 pool, one controller

/**
 * Just enough of EC2 for a controller to run a pool: every DescribeInstances shows an instance as it is
 * and then moves it one step on (pending → running, stopping → stopped, shutting-down → terminated), so the
 * adapter's polling drives it.
 */
function fakeEc2(mock: Ec2Mock) {
  const instances = new Map<string, Instance>();
  let seq = 0;
  const step: Partial<Record<InstanceStateName, InstanceStateName>> = {
    pending: 'running',
    stopping: 'stopped',
    'shutting-down': 'terminated',
  };
  const move = (
    ids: string[] | undefined,
    to: InstanceStateName,
    from: InstanceStateName[],
    reason?: string,
  ) =>
    (ids ?? []).map((id) => {
      const inst = instances.get(id);
      if (!inst)
        throw ec2Error('InvalidInstanceID.NotFound', 'client', {
          message: `The instance ID '${id}' does not exist`,
        });
      const before = inst.State!.Name!;
      if (!from.includes(before)) throw ec2Error('IncorrectInstanceState');
      inst.State = { Name: to };
      inst.StateReason = reason ? { Code: reason, Message: reason } : undefined;
      return { InstanceId: id, PreviousState: { Name: before }, CurrentState: { Name: to } };
    });
  mock.on(RunInstancesCommand).callsFake(async (input: RunInstancesCommandInput) => {
    const id = ID(0x100 + ++seq);
    const inst: Instance = {
      InstanceId: id,
      State: { Name: 'pending' },
      Placement: input.Placement,
      Tags: input.TagSpecifications?.find((t) => t.ResourceType === 'instance')?.Tags,
      LaunchTime: new Date(0),
    };
    instances.set(id, inst);
    return { Instances: [{ ...inst }] };
  });
  mock.on(StopInstancesCommand).callsFake(async (input: StopInstancesCommandInput) => ({
    StoppingInstances: move(
      input.InstanceIds,
      'stopping',
      ['running'],
      input.Hibernate ? 'Client.UserInitiatedHibernate' : 'Client.UserInitiatedShutdown',
    ),
  }));
  mock.on(StartInstancesCommand).callsFake(async (input: StartInstancesCommandInput) => ({
    StartingInstances: move(input.InstanceIds, 'pending', ['stopped']),
  }));
  mock.on(TerminateInstancesCommand).callsFake(async (input: TerminateInstancesCommandInput) => ({
    TerminatingInstances: move(input.InstanceIds, 'shutting-down', [
      'pending',
      'running',
      'stopping',
      'stopped',
    ]),
  }));
  mock.on(DescribeInstancesCommand).callsFake(async (input: DescribeInstancesCommandInput) => {
    const pool = input.Filters?.find((f) => f.Name === `tag:${TAGS.pool}`)?.Values;
    const states = input.Filters?.find((f) => f.Name === 'instance-state-name')?.Values;
    const picked = input.InstanceIds
      ? input.InstanceIds.map((id) => instances.get(id)).filter((i): i is Instance => i !== undefined)
      : [...instances.values()].filter((inst) => {
          const tags = Object.fromEntries((inst.Tags ?? []).map((t) => [t.Key, t.Value]));
          return (
            (!pool || pool.includes(tags[TAGS.pool] ?? '')) &&
            (!states || states.includes(inst.State!.Name!)) &&
            tags[TAGS.pool] !== undefined
          );
        });
    const shown = picked.map((inst) => structuredClone(inst));
    for (const inst of picked) {
      const next = step[inst.State!.Name!];
      if (next) {
        inst.State = { Name: next };
        // A stop keeps its reason; a launch or start has none.
        if (next === 'running') inst.StateReason = undefined;
      }
    }
    return page(...shown);
  });
  return instances;
}

describe('a config with a sim pool and an ec2 pool', () => {
  const CONFIG = `
providers:
  sim: { kind: sim, hosts: 2, capacityPerHost: 8 }
  aws:
    kind: ec2
    region: eu-west-1
    hibernation: true
    placement:
      kind: availability-zone
      hosts: [{ name: eu-west-1a, capacity: 10 }, { name: eu-west-1b, capacity: 10 }]
pools:
  - name: web
    provider: sim
    template: { params: { image: ubuntu } }
    warm: { state: paused, perHost: { target: 1, max: 2 }, hosts: [sim-host-01, sim-host-02] }
    active: { min: 1, max: 10 }
    capacity: { metric: requests_per_s, perInstance: 100 }
  - name: api
    provider: aws
    template: { generation: 3, params: { LaunchTemplateName: api-lt, LaunchTemplateVersion: "4" } }
    warm: { state: hibernated, perHost: { target: 1, max: 2 }, hosts: [eu-west-1a, eu-west-1b] }
    active: { min: 1, max: 10 }
    capacity: { metric: requests_per_s, perInstance: 50 }
  - name: batch
    provider: aws
    template: { params: { ImageId: ami-0batch, InstanceType: m7g.large } }
    warm: { state: stopped, perHost: { target: 1, max: 1 }, hosts: [eu-west-1b] }
    active: { min: 0, max: 4 }
    capacity: { metric: queue_depth, perInstance: 10 }
`;

  it('validates, builds both providers, and a controller tick launches the ec2 pools with the right requests', async () => {
    const loaded = parseConfig(parseConfigText(CONFIG, 'mixed.yaml'), 'mixed.yaml', {});
    expect(loaded.pools.map((p) => [p.name, p.provider, p.warmState])).toEqual([
      ['web', 'sim', 'paused'],
      ['api', 'aws', 'hibernated'],
      ['batch', 'aws', 'stopped'],
    ]);
    // The provider builds its own client: mock the class, so every client it makes is mocked.
    const mock = mockClient(EC2Client);
    mocks.push(mock);
    const instances = fakeEc2(mock);
    const clock = new VirtualClock();
    const providers = buildProviders(loaded.config, clock);
    expect([...providers].map(([name, p]) => [name, p.kind])).toEqual([
      ['sim', 'sim'],
      ['aws', 'ec2'],
    ]);
    const ctl = new Controller({
      pools: loaded.pools,
      providers,
      store: new MemoryStore(clock),
      clock,
      events: new MemoryEventSink(),
      log: silentLogger(),
      owner: 'ctl',
    });

    await clock.run(async () => {
      await ctl.tick();
      await ctl.idle();
    });

    const runs = inputsOf(mock.commandCalls(RunInstancesCommand));
    const tagsOf = (r: RunInstancesCommandInput) =>
      Object.fromEntries((r.TagSpecifications?.[0]?.Tags ?? []).map((t) => [t.Key, t.Value]));
    const api = runs.filter((r) => tagsOf(r)[TAGS.pool] === 'api');
    const batch = runs.filter((r) => tagsOf(r)[TAGS.pool] === 'batch');
    // api: one cold launch for minActive, one warm per zone; batch: one warm, none in service.
    expect(api).toHaveLength(3);
    expect(batch).toHaveLength(1);
    for (const r of api) {
      expect(r).toMatchObject({
        LaunchTemplate: { LaunchTemplateName: 'api-lt', Version: '4' },
        HibernationOptions: { Configured: true },
        MinCount: 1,
        MaxCount: 1,
      });
      expect(r.ClientToken).toMatch(/\S/);
      expect(tagsOf(r)[TAGS.generation]).toBe('3');
    }
    expect(api.map((r) => tagsOf(r)[TAGS.purpose]).sort()).toEqual(['active', 'warm', 'warm']);
    expect(
      api
        .filter((r) => tagsOf(r)[TAGS.purpose] === 'warm')
        .map((r) => r.Placement?.AvailabilityZone)
        .sort(),
    ).toEqual(['eu-west-1a', 'eu-west-1b']);
    expect(batch[0]).toMatchObject({
      ImageId: 'ami-0batch',
      InstanceType: 'm7g.large',
      Placement: { AvailabilityZone: 'eu-west-1b' },
    });
    expect(batch[0]?.HibernationOptions).toBeUndefined();
    // The warm ones went to sleep the way their pool says.
    const stops = inputsOf(mock.commandCalls(StopInstancesCommand));
    expect(stops.map((s) => s.Hibernate).sort()).toEqual([false, true, true]);
    expect([...instances.values()].map((i) => i.State?.Name).sort()).toEqual([
      'running',
      'stopped',
      'stopped',
      'stopped',
    ]);

    const status = Object.fromEntries((await ctl.status()).map((s) => [s.name, s]));
    expect(status.api).toMatchObject({ active: 1, warm: 2 });
    expect(status.batch).toMatchObject({ active: 0, warm: 1 });
    expect(status.web).toMatchObject({ active: 1, warm: 2 });
  });
});
