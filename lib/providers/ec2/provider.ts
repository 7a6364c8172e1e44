/**
 * Ec2Provider: the CloudProvider port on Amazon EC2 through @aws-sdk/client-ec2 (v3). Instances launch from
 * a launch template or explicit parameters, tagged with their pool and template generation; they sleep
 * stopped or hibernated (StopInstances) or stay running (pre-booted), and wake with StartInstances. EC2
 * answers at once and does the work in the background, so every change returns when accepted and `waitFor`
 * watches many instances with one DescribeInstances per thousand ids, backing off on an injected Clock.
 * Credentials come from the SDK's default chain (environment, profile, the Lambda role …), never from config.
 */

import { randomUUID } from 'node:crypto';
import {
  DescribeInstancesCommand,
  type DescribeInstancesCommandInput,
  EC2Client,
  type Instance,
  RunInstancesCommand,
  StartInstancesCommand,
  StopInstancesCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import type { Clock } from '../../clock/index.js';
import type { WarmState } from '../../domain/index.js';
import {
  ConflictError,
  isNotFound,
  isRateLimited,
  isRetryable,
  NotFoundError,
  TransientError,
  UnsupportedError,
} from '../errors.js';
import {
  type CloudProvider,
  type CreateRequest,
  type HostCapacity,
  type ProviderInstance,
  type ProviderStatus,
  TAGS,
  type WaitOptions,
  type WaitResult,
} from '../port.js';
import { type Ec2CallContext, toProviderError } from './errors.js';
import { LIVE_STATES, viewOf } from './instances.js';
import { type Ec2PlacementKind, placementOf, runInstancesInput } from './launch.js';

/** The warm states EC2 can hold an instance in. */
export const EC2_WARM_STATES: readonly WarmState[] = ['stopped', 'hibernated', 'running'];

/** DescribeInstances takes at most this many InstanceIds in one call. */
export const DESCRIBE_BATCH = 1000;

/** EC2 instance ids: `i-` and 8 (old) or 17 hex digits. Anything else is refused without asking EC2. */
const INSTANCE_ID = /^i-(?:[0-9a-f]{8}|[0-9a-f]{17})$/;
const INSTANCE_IDS_IN_TEXT = /\bi-(?:[0-9a-f]{17}|[0-9a-f]{8})\b/g;

/** How many just-launched instances the adapter remembers for EC2's eventual consistency. */
const LAUNCHES_KEPT = 10_000;

export interface Ec2Placement {
  kind: Ec2PlacementKind;
  /**
   * The placements warmpool may launch on (AZ names, Dedicated Host ids, or `<group>:<partition>`), each with
   * the most instances warmpool may hold there.
   */
  hosts: readonly { name: string; capacity: number }[];
}

export interface Ec2ProviderOptions {
  /** Timers of `waitFor` run on it, so tests and the simulator can drive them on a VirtualClock. */
  clock: Clock;
  region: string;
  placement: Ec2Placement;
  /** The launch templates / AMIs support hibernation, so pools may keep instances `hibernated`. */
  hibernation?: boolean;
  /** SDK attempts per call (adaptive retry mode), default 5. */
  maxAttempts?: number;
  /** A ready client (tests inject a mocked one); otherwise one is built for `region`. */
  client?: EC2Client;
  /** Pools whose warm state is `hibernated`: their launches are hibernation-configured, which only a launch can do. */
  hibernatedPools?: Iterable<string>;
  /** Makes the RunInstances idempotency token; a random UUID by default. */
  clientToken?: () => string;
  /** Backoff of `waitFor` between DescribeInstances rounds (ms of `clock`): 1 s doubling up to 5 s by default. */
  poll?: { initialMs?: number; maxMs?: number };
  /**
   * How long an instance this adapter launched may be unknown to DescribeInstances (EC2 is eventually
   * consistent) before `get` and `waitFor` believe it, default 60 s.
   */
  consistencyGraceMs?: number;
}

interface Described {
  found: Map<string, Instance>;
  missing: Set<string>;
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * The CloudProvider port on EC2.
 *
 * @example
 * const ec2 = new Ec2Provider({
 *   clock: new SystemClock(),
 *   region: 'eu-west-1',
 *   placement: { kind: 'availability-zone', hosts: [{ name: 'eu-west-1a', capacity: 50 }] },
 * });
 * const inst = await ec2.create({ pool: 'web', host: 'eu-west-1a', params: { LaunchTemplateName: 'web' }, generation: 1 });
 * await ec2.waitFor([inst.id], 'running', { timeoutMs: 600_000 });
 */
export class Ec2Provider implements CloudProvider {
  readonly kind = 'ec2';
  readonly warmStates: readonly WarmState[] = EC2_WARM_STATES;
  readonly client: EC2Client;

  private readonly clock: Clock;
  private readonly placement: Ec2PlacementKind;
  private readonly hostsByName = new Map<string, { name: string; capacity: number }>();
  private readonly hibernation: boolean;
  private readonly hibernatedPools: ReadonlySet<string>;
  private readonly clientToken: () => string;
  private readonly pollInitialMs: number;
  private readonly pollMaxMs: number;
  private readonly graceMs: number;
  /** Instances launched here lately, as RunInstances answered, until DescribeInstances is sure to know them. */
  private readonly launched = new Map<string, { view: ProviderInstance; at: number }>();

  constructor(options: Ec2ProviderOptions) {
    this.clock = options.clock;
    this.placement = options.placement.kind;
    for (const h of options.placement.hosts) {
      if (!Number.isInteger(h.capacity) || h.capacity < 0) {
        throw new RangeError(`ec2 placement ${h.name}: capacity must be an integer >= 0 (got ${h.capacity})`);
      }
      if (this.hostsByName.has(h.name)) throw new RangeError(`ec2 placement ${h.name} is listed twice`);
      // Fails early on a partition written wrong.
      placementOf(this.placement, h.name);
      this.hostsByName.set(h.name, { name: h.name, capacity: h.capacity });
    }
    this.hibernation = options.hibernation ?? false;
    this.hibernatedPools = new Set(options.hibernatedPools ?? []);
    this.clientToken = options.clientToken ?? randomUUID;
    this.pollInitialMs = options.poll?.initialMs ?? 1_000;
    this.pollMaxMs = Math.max(this.pollInitialMs, options.poll?.maxMs ?? 5_000);
    this.graceMs = options.consistencyGraceMs ?? 60_000;
    this.client =
      options.client ??
      new EC2Client({ region: options.region, maxAttempts: options.maxAttempts ?? 5, retryMode: 'adaptive' });
  }

  // ── the port ──────────────────────────────────────────────────────────────────────────────────────────

  /**
   * The configured placements. EC2 has no per-host slot count that can be read cheaply (an AZ has none at
   * all; a Dedicated Host's needs DescribeHosts and another permission, and says nothing of partitions), so
   * `capacity` is the operator's budget from config, and `used` counts warmpool's own live instances there.
   */
  async hosts(): Promise<HostCapacity[]> {
    const instances = await this.describeAll(
      {
        Filters: [
          { Name: 'tag-key', Values: [TAGS.pool] },
          { Name: 'instance-state-name', Values: [...LIVE_STATES] },
        ],
        MaxResults: 1000,
      },
      { op: 'DescribeInstances' },
    );
    const used = new Map<string, number>();
    for (const inst of instances) {
      const host = viewOf(inst, this.placement).host;
      used.set(host, (used.get(host) ?? 0) + 1);
    }
    return [...this.hostsByName.values()].map((h) => ({
      name: h.name,
      capacity: h.capacity,
      used: used.get(h.name) ?? 0,
    }));
  }

  async create(req: CreateRequest): Promise<ProviderInstance> {
    if (!this.hostsByName.has(req.host)) {
      throw new NotFoundError(
        `ec2: no placement "${req.host}" (configured: ${[...this.hostsByName.keys()].join(', ') || 'none'})`,
      );
    }
    // The adapter's own tags win: membership must not be overridable by a caller's extra tags.
    const tags = { ...req.tags, [TAGS.pool]: req.pool, [TAGS.generation]: String(req.generation) };
    const input = runInstancesInput({
      params: req.params,
      placement: placementOf(this.placement, req.host),
      tags,
      hibernate: this.hibernatedPools.has(req.pool),
      clientToken: this.clientToken(),
    });
    const out = await this.call({ op: 'RunInstances', host: req.host }, () =>
      this.client.send(new RunInstancesCommand(input)),
    );
    const inst = out.Instances?.[0];
    if (!inst?.InstanceId) throw new TransientError('ec2 RunInstances: the answer names no instance');
    // What was asked for wins over what the answer echoes (a launch template may add tags of its own).
    const merged = new Map((inst.Tags ?? []).map((t) => [t.Key, t.Value]));
    for (const [key, value] of Object.entries(tags)) merged.set(key, value);
    const view = viewOf(
      { ...inst, Tags: [...merged].map(([Key, Value]) => ({ Key, Value })) },
      this.placement,
    );
    if (view.host === '') view.host = req.host;
    this.remember(view);
    return view;
  }

  async sleep(id: string, to: WarmState): Promise<void> {
    this.checkWarmState(to);
    // A pre-booted instance sleeps by staying as it is: nothing to ask EC2.
    if (to === 'running') return;
    if (to === 'hibernated' && !this.hibernation) {
      throw new UnsupportedError(
        'ec2: hibernation is off for this provider (set hibernation: true in its config)',
      );
    }
    this.checkId(id);
    const out = await this.call({ op: 'StopInstances', id }, () =>
      this.client.send(new StopInstancesCommand({ InstanceIds: [id], Hibernate: to === 'hibernated' })),
    );
    // EC2 accepts a stop of a stopped instance and does nothing; the port calls that a conflict.
    const before = out.StoppingInstances?.find((i) => i.InstanceId === id)?.PreviousState?.Name;
    if (before !== undefined && before !== 'running') {
      throw new ConflictError(`ec2: cannot put ${id} to ${to}: it was ${before}`);
    }
  }

  async wake(id: string, from: WarmState): Promise<void> {
    this.checkWarmState(from);
    if (from === 'running') return;
    this.checkId(id);
    const out = await this.call({ op: 'StartInstances', id }, () =>
      this.client.send(new StartInstancesCommand({ InstanceIds: [id] })),
    );
    // EC2 accepts a start of a running instance and does nothing; the port calls that a conflict.
    const before = out.StartingInstances?.find((i) => i.InstanceId === id)?.PreviousState?.Name;
    if (before !== undefined && before !== 'stopped') {
      throw new ConflictError(`ec2: cannot wake ${id} from ${from}: it is ${before}`);
    }
  }

  async delete(id: string): Promise<void> {
    this.checkId(id);
    await this.call({ op: 'TerminateInstances', id }, () =>
      this.client.send(new TerminateInstancesCommand({ InstanceIds: [id] })),
    );
    this.launched.delete(id);
  }

  async get(id: string): Promise<ProviderInstance> {
    this.checkId(id);
    const { found } = await this.describeByIds([id]);
    const inst = found.get(id);
    if (!inst) {
      const recent = this.recent(id);
      if (recent) return recent;
      throw new NotFoundError(`ec2: no instance ${id}`);
    }
    const view = viewOf(inst, this.placement);
    if (view.status === 'deleted') throw new NotFoundError(`ec2: instance ${id} is ${inst.State?.Name}`);
    return view;
  }

  async list(pool: string): Promise<ProviderInstance[]> {
    const instances = await this.describeAll(
      {
        Filters: [
          { Name: `tag:${TAGS.pool}`, Values: [pool] },
          { Name: 'instance-state-name', Values: [...LIVE_STATES] },
        ],
        MaxResults: 1000,
      },
      { op: 'DescribeInstances' },
    );
    return instances.map((inst) => viewOf(inst, this.placement)).filter((v) => v.pool === pool);
  }

  /**
   * Polls DescribeInstances for every id still pending (≤ 1000 ids a call), backing off from 1 s to 5 s on
   * the clock, until each is in `want` and not busy, has gone (`deleted`, or unknown to EC2 past the
   * consistency grace), or the timeout passes. A throttled or failed poll is retried on the next round, not
   * thrown: the SDK has retried it already, and the wait has a deadline of its own. A deleted instance is
   * ready only when `want` is `deleted` and it has finished terminating. Rejects with the signal's reason
   * when `options.signal` aborts.
   */
  async waitFor(ids: readonly string[], want: ProviderStatus, options: WaitOptions): Promise<WaitResult> {
    const { signal } = options;
    signal?.throwIfAborted();
    const result: WaitResult = { ready: [], failed: [], timedOut: [] };
    const pending = new Set(ids);
    const deadline = this.clock.now() + Math.max(0, options.timeoutMs);
    let delay = this.pollInitialMs;
    for (;;) {
      let pause = delay;
      try {
        const seen = await this.describeByIds([...pending]);
        for (const id of [...pending]) if (this.settle(id, want, seen, result)) pending.delete(id);
      } catch (err) {
        if (!isRetryable(err)) throw err;
        if (isRateLimited(err)) pause = Math.max(pause, err.retryAfterMs);
      }
      signal?.throwIfAborted();
      if (pending.size === 0) return result;
      const left = deadline - this.clock.now();
      if (left <= 0) {
        result.timedOut.push(...pending);
        return result;
      }
      await this.clock.sleep(Math.min(pause, left), signal);
      delay = Math.min(delay * 2, this.pollMaxMs);
    }
  }

  // ── internals ────────────────────────────────────────────────────────────────────────────────────────

  /** One SDK call, its failure mapped onto the port's typed errors. */
  private async call<T>(context: Ec2CallContext, send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (err) {
      throw toProviderError(err, context);
    }
  }

  /** Every instance DescribeInstances returns for `input`, page after page. */
  private async describeAll(
    input: DescribeInstancesCommandInput,
    context: Ec2CallContext,
  ): Promise<Instance[]> {
    const out: Instance[] = [];
    const seenTokens = new Set<string>();
    let token: string | undefined;
    do {
      const page = await this.call(context, () =>
        this.client.send(
          new DescribeInstancesCommand(token === undefined ? input : { ...input, NextToken: token }),
        ),
      );
      for (const r of page.Reservations ?? []) out.push(...(r.Instances ?? []));
      token = page.NextToken || undefined;
      // A token seen before would loop for ever; EC2 never sends one, but a proxy in between might.
      if (token !== undefined && seenTokens.has(token)) break;
      if (token !== undefined) seenTokens.add(token);
    } while (token !== undefined);
    return out;
  }

  /** The instances of `ids` that EC2 knows, and the ids it does not, with ≤ 1000 ids per call. */
  private async describeByIds(ids: readonly string[]): Promise<Described> {
    const seen: Described = { found: new Map(), missing: new Set() };
    const valid: string[] = [];
    for (const id of new Set(ids)) {
      if (INSTANCE_ID.test(id)) valid.push(id);
      else seen.missing.add(id);
    }
    await Promise.all(chunks(valid, DESCRIBE_BATCH).map((batch) => this.describeBatch(batch, seen)));
    return seen;
  }

  /**
   * One batch of ids. EC2 fails the whole call when any id is unknown and names the unknown ones in the
   * message: those are set aside and the rest asked again. When the message names none of them, each id is
   * asked on its own.
   */
  private async describeBatch(ids: readonly string[], seen: Described): Promise<void> {
    let left = [...ids];
    while (left.length > 0) {
      try {
        const instances = await this.describeAll({ InstanceIds: left }, { op: 'DescribeInstances' });
        for (const inst of instances) if (inst.InstanceId) seen.found.set(inst.InstanceId, inst);
        for (const id of left) if (!seen.found.has(id)) seen.missing.add(id);
        return;
      } catch (err) {
        if (!isNotFound(err)) throw err;
        const named = new Set(
          (err.message.match(INSTANCE_IDS_IN_TEXT) ?? []).filter((id) => left.includes(id)),
        );
        if (named.size === 0) {
          if (left.length === 1) {
            seen.missing.add(left[0]!);
            return;
          }
          for (const id of left) await this.describeBatch([id], seen);
          return;
        }
        for (const id of named) seen.missing.add(id);
        left = left.filter((id) => !named.has(id));
      }
    }
  }

  /** Settles `id` into `result` if it is where `want` says or has failed; false while still pending. */
  private settle(id: string, want: ProviderStatus, seen: Described, result: WaitResult): boolean {
    const inst = seen.found.get(id);
    if (!inst) {
      // Just launched here: DescribeInstances may not know it yet.
      if (this.recent(id)) return false;
      result.failed.push({ id, reason: 'not found' });
      return true;
    }
    const view = viewOf(inst, this.placement);
    if (view.status === 'deleted') {
      if (want !== 'deleted') {
        result.failed.push({ id, reason: view.fault ? `deleted: ${view.fault}` : 'deleted' });
        return true;
      }
      if (view.busy) return false;
      result.ready.push(view);
      return true;
    }
    if (view.status === want && !view.busy) {
      result.ready.push(view);
      return true;
    }
    if (view.status === 'error' && want !== 'deleted') {
      result.failed.push({ id, reason: view.fault ?? `unknown EC2 state ${inst.State?.Name ?? '(none)'}` });
      return true;
    }
    return false;
  }

  private remember(view: ProviderInstance): void {
    this.launched.set(view.id, { view: { ...view, tags: { ...view.tags } }, at: this.clock.now() });
    if (this.launched.size <= LAUNCHES_KEPT) return;
    const oldest = this.launched.keys().next();
    if (!oldest.done) this.launched.delete(oldest.value);
  }

  /** The launch view of `id` while DescribeInstances may still not know it. */
  private recent(id: string): ProviderInstance | undefined {
    const entry = this.launched.get(id);
    if (!entry) return undefined;
    if (this.clock.now() - entry.at > this.graceMs) {
      this.launched.delete(id);
      return undefined;
    }
    return { ...entry.view, tags: { ...entry.view.tags } };
  }

  private checkId(id: string): void {
    if (!INSTANCE_ID.test(id)) throw new NotFoundError(`ec2: "${id}" is not an instance id`);
  }

  private checkWarmState(state: WarmState): void {
    if (!this.warmStates.includes(state)) {
      throw new UnsupportedError(
        `ec2 cannot hold "${String(state)}" (supported: ${this.warmStates.join(', ')})`,
      );
    }
  }
}
