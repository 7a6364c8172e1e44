/**
 * SimCloud: an OpenStack-like cloud that lives entirely on an injected Clock. It mirrors Nova's semantics
 * (202-style acceptance, 409 on a wrong state, hosts with a slot per instance, shelve freeing the host) and
 * Nova's costs (a one-at-a-time scheduler, image transfers that share the image store and each host link,
 * guest boot, pause/suspend/stop/shelve and their wakes) from the latency model in latency.ts. Every delay is
 * a clock timer, so on a VirtualClock hours of cloud time run in milliseconds and replay identically for a
 * seed; nothing polls.
 */
import type { Cancel, Clock } from '../../clock/index.js';
import { WARM_STATES, type WarmState } from '../../domain/index.js';
import { mulberry32 } from '../../util/index.js';
import {
  ConflictError,
  InsufficientCapacityError,
  NotFoundError,
  type ProviderError,
  RateLimitedError,
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
import { type LatencyModel, memoryImageMs, resolveLatency } from './latency.js';
import { TransferPool } from './transfer.js';

/** The sim's API operations, as counted by `stats()` and targeted by `injectFault`. */
export type SimApiOp = 'create' | 'wake' | 'sleep' | 'delete' | 'get' | 'list' | 'hosts';

export const SIM_API_OPS: readonly SimApiOp[] = ['create', 'wake', 'sleep', 'delete', 'get', 'list', 'hosts'];

export interface SimCloudOptions {
  clock: Clock;
  /** The hypervisor hosts and how many instances each can hold. */
  hosts: readonly { name: string; capacity: number }[];
  /** Overrides of the default latency model. */
  latency?: Partial<LatencyModel>;
  /** Seed of the PRNG behind jitter and random boot failures; the same seed replays the same run. */
  seed?: number;
  /** A token bucket in front of the API: `perSecond` refill, `burst` size (default `perSecond`). */
  apiRateLimit?: { perSecond: number; burst?: number };
}

/** What the sim reports as "provider API calls". */
export interface SimStats {
  /** Calls by operation, including refused ones. `waitFor` counts as one `list` call. */
  calls: Record<SimApiOp, number>;
  /** Sum of `calls`. */
  total: number;
  /** Calls refused by the rate limit. */
  throttled: number;
  /** Calls that threw an injected fault. */
  faulted: number;
}

interface SimHost {
  name: string;
  capacity: number;
  used: number;
}

interface SimInstance extends ProviderInstance {
  /** Holds a slot on its host: every status but shelved (and deleted, when it is gone). */
  holdsSlot: boolean;
  deleting: boolean;
  /** Cancels the step in flight (a timer or an image transfer), so a delete stops a launch or a wake. */
  step?: Cancel;
}

interface Waiter {
  want: ProviderStatus;
  pending: Set<string>;
  result: WaitResult;
  finish: () => void;
}

interface Fault {
  make: () => ProviderError;
  times: number;
}

/** How many deleted instances the sim remembers, to tell "deleted" from "never existed" in waitFor. */
const TOMBSTONES_KEPT = 10_000;

const DEFAULT_SEED = 0x5eed;

function view(inst: SimInstance): ProviderInstance {
  const v: ProviderInstance = {
    id: inst.id,
    pool: inst.pool,
    host: inst.host,
    status: inst.status,
    busy: inst.busy,
    generation: inst.generation,
    tags: { ...inst.tags },
    createdAt: inst.createdAt,
  };
  if (inst.fault !== undefined) v.fault = inst.fault;
  return v;
}

function describeState(inst: SimInstance): string {
  if (inst.deleting) return 'being deleted';
  return inst.busy ? `${inst.status} (busy)` : inst.status;
}

/** Token bucket on the clock: refuses a call when empty and says how long until a token is back. */
class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly clock: Clock,
    private readonly perSecond: number,
    private readonly burst: number,
  ) {
    this.tokens = burst;
    this.last = clock.now();
  }

  /** Takes a token: 0 when granted, else the ms until one is available. */
  take(): number {
    const now = this.clock.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.perSecond);
    this.last = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil(((1 - this.tokens) / this.perSecond) * 1000));
  }
}

/**
 * A simulated OpenStack-like cloud implementing the CloudProvider port, with fault injection for tests.
 *
 * @example
 * const clock = new VirtualClock();
 * const cloud = new SimCloud({ clock, hosts: [{ name: 'h1', capacity: 10 }], seed: 1 });
 * await clock.run(async () => {
 *   const inst = await cloud.create({ pool: 'web', host: 'h1', params: {}, generation: 1 });
 *   await cloud.waitFor([inst.id], 'running', { timeoutMs: 600_000 });
 * });
 */
export class SimCloud implements CloudProvider {
  readonly kind = 'sim';
  readonly warmStates: readonly WarmState[] = WARM_STATES;
  /** The latency model in force (defaults plus overrides). */
  readonly latency: Readonly<LatencyModel>;

  private readonly clock: Clock;
  private readonly rng: () => number;
  private readonly hostsByName = new Map<string, SimHost>();
  private readonly live = new Map<string, SimInstance>();
  private readonly byPool = new Map<string, Map<string, SimInstance>>();
  private readonly tombstones = new Map<string, ProviderInstance>();
  private readonly watchers = new Map<string, Set<Waiter>>();
  private readonly transfers: TransferPool;
  private readonly bucket: TokenBucket | undefined;
  private readonly faults = new Map<SimApiOp, Fault[]>();
  private calls = SimCloud.zeroCalls();
  private throttled = 0;
  private faulted = 0;
  private seq = 0;
  /** When the one-at-a-time scheduler is free to take the next request. */
  private schedulerFreeAt: number;
  private bootFailRate = 0;
  private bootFailNext = 0;

  constructor(options: SimCloudOptions) {
    this.clock = options.clock;
    this.latency = Object.freeze(resolveLatency(options.latency));
    this.rng = mulberry32(options.seed ?? DEFAULT_SEED);
    for (const h of options.hosts) {
      if (!Number.isInteger(h.capacity) || h.capacity < 0) {
        throw new RangeError(`host ${h.name}: capacity must be an integer >= 0 (got ${h.capacity})`);
      }
      if (this.hostsByName.has(h.name)) throw new RangeError(`host ${h.name} is listed twice`);
      this.hostsByName.set(h.name, { name: h.name, capacity: h.capacity, used: 0 });
    }
    this.transfers = new TransferPool(
      this.clock,
      this.latency.storeBytesPerSec,
      this.latency.hostBytesPerSec,
    );
    if (options.apiRateLimit) {
      const { perSecond } = options.apiRateLimit;
      if (!(perSecond > 0)) throw new RangeError(`apiRateLimit.perSecond must be > 0 (got ${perSecond})`);
      const burst = options.apiRateLimit.burst ?? Math.max(1, perSecond);
      this.bucket = new TokenBucket(this.clock, perSecond, burst);
    }
    this.schedulerFreeAt = this.clock.now();
  }

  // ── the port ──────────────────────────────────────────────────────────────────────────────────────────

  async hosts(): Promise<HostCapacity[]> {
    await this.api('hosts');
    return [...this.hostsByName.values()].map((h) => ({ name: h.name, capacity: h.capacity, used: h.used }));
  }

  async create(req: CreateRequest): Promise<ProviderInstance> {
    await this.api('create');
    const host = this.hostsByName.get(req.host);
    if (!host) throw new NotFoundError(`sim: no host "${req.host}"`);
    this.claimSlot(host);
    const id = `sim-${req.pool}-${++this.seq}`;
    const inst: SimInstance = {
      id,
      pool: req.pool,
      host: req.host,
      status: 'building',
      busy: true,
      generation: req.generation,
      // The adapter's own tags win: membership must not be overridable by a caller's extra tags.
      tags: Object.freeze({ ...req.tags, [TAGS.pool]: req.pool, [TAGS.generation]: String(req.generation) }),
      createdAt: this.clock.now(),
      holdsSlot: true,
      deleting: false,
    };
    this.live.set(id, inst);
    let pool = this.byPool.get(req.pool);
    if (!pool) {
      pool = new Map();
      this.byPool.set(req.pool, pool);
    }
    pool.set(id, inst);
    this.launch(inst);
    return view(inst);
  }

  async sleep(id: string, to: WarmState): Promise<void> {
    this.checkWarmState(to);
    // A pre-booted instance sleeps by staying as it is: nothing to ask the cloud.
    if (to === 'running') return this.noop(id);
    await this.api('sleep');
    const inst = this.mustGet(id);
    if (inst.status !== 'running' || inst.busy || inst.deleting) {
      throw new ConflictError(`sim: cannot put ${id} to ${to}: it is ${describeState(inst)}`);
    }
    inst.busy = true;
    this.changed(inst);
    inst.step = this.clock.after(this.jittered(this.sleepMs(to)), () => {
      inst.step = undefined;
      inst.status = to;
      inst.busy = false;
      if (to === 'shelved') this.releaseSlot(inst);
      this.changed(inst);
    });
  }

  async wake(id: string, from: WarmState): Promise<void> {
    this.checkWarmState(from);
    if (from === 'running') return this.noop(id);
    await this.api('wake');
    const inst = this.mustGet(id);
    if (inst.status !== from || inst.busy || inst.deleting) {
      throw new ConflictError(`sim: cannot wake ${id} from ${from}: it is ${describeState(inst)}`);
    }
    if (from === 'shelved') {
      // Unshelving lands on the instance's own host again, so that host must have room for it.
      this.claimSlot(this.hostOf(inst));
      inst.holdsSlot = true;
    }
    inst.busy = true;
    this.changed(inst);
    const awake = () => {
      inst.step = undefined;
      inst.status = 'running';
      inst.busy = false;
      this.changed(inst);
    };
    if (from === 'shelved') {
      inst.step = this.transfers.start(inst.host, this.latency.imageBytes, () => {
        inst.step = this.clock.after(this.jittered(this.latency.bootMs), awake);
      });
    } else {
      inst.step = this.clock.after(this.jittered(this.wakeMs(from)), awake);
    }
  }

  async delete(id: string): Promise<void> {
    await this.api('delete');
    const inst = this.live.get(id);
    if (!inst) throw new NotFoundError(`sim: no instance ${id}`);
    // Nova accepts a second delete of a server being deleted; so does the sim.
    if (inst.deleting) return;
    inst.step?.();
    inst.step = undefined;
    inst.deleting = true;
    inst.busy = true;
    this.changed(inst);
    this.clock.after(this.jittered(this.latency.deleteMs), () => this.remove(inst));
  }

  async get(id: string): Promise<ProviderInstance> {
    await this.api('get');
    return view(this.mustGet(id));
  }

  async list(pool: string): Promise<ProviderInstance[]> {
    await this.api('list');
    const instances = this.byPool.get(pool);
    return instances ? [...instances.values()].map(view) : [];
  }

  /**
   * Event-driven: settles each id as its instance changes, never polls. Counts as one `list` call in
   * `stats()` (a real adapter needs at least that), but is neither rate-limited nor subject to injected
   * faults, since a real adapter retries its polls internally. An id that is gone settles as failed with
   * reason `deleted` (or `not found` if the sim never knew it), unless `want` is `deleted`, in which case a
   * deleted instance is ready. Rejects with the signal's reason when `options.signal` aborts.
   */
  waitFor(ids: readonly string[], want: ProviderStatus, options: WaitOptions): Promise<WaitResult> {
    this.calls.list += 1;
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(signal.reason);
    const result: WaitResult = { ready: [], failed: [], timedOut: [] };
    const pending = new Set<string>();
    for (const id of new Set(ids)) {
      if (!this.settle(id, want, result)) pending.add(id);
    }
    if (pending.size === 0) return Promise.resolve(result);
    if (!(options.timeoutMs > 0)) {
      result.timedOut.push(...pending);
      return Promise.resolve(result);
    }
    return new Promise<WaitResult>((resolve, reject) => {
      let finished = false;
      let cancelTimeout: Cancel = () => undefined;
      const cleanup = () => {
        finished = true;
        cancelTimeout();
        signal?.removeEventListener('abort', onAbort);
        for (const id of pending) this.unwatch(id, waiter);
      };
      const onAbort = () => {
        cleanup();
        reject(signal?.reason);
      };
      const waiter: Waiter = {
        want,
        pending,
        result,
        finish: () => {
          cleanup();
          resolve(result);
        },
      };
      for (const id of pending) this.watch(id, waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
      cancelTimeout = this.clock.after(options.timeoutMs, () => {
        if (finished) return;
        result.timedOut.push(...pending);
        waiter.finish();
      });
    });
  }

  // ── test and benchmark controls ──────────────────────────────────────────────────────────────────────

  /**
   * Makes the next `times` calls of `op` throw `error` (or what `error()` returns) after the usual API
   * latency. Faults queue up per op, first in first out.
   */
  injectFault(op: SimApiOp, error: ProviderError | (() => ProviderError), times = 1): void {
    if (times <= 0) return;
    const make = typeof error === 'function' ? error : () => error;
    const queue = this.faults.get(op) ?? [];
    queue.push({ make, times });
    this.faults.set(op, queue);
  }

  /** Drops every injected fault and boot failure setting. */
  clearFaults(): void {
    this.faults.clear();
    this.bootFailRate = 0;
    this.bootFailNext = 0;
  }

  /** From now on, each launch ends in `error` with probability `rate` (drawn from the seeded PRNG). */
  failBoots(rate: number): void {
    if (!(rate >= 0 && rate <= 1)) throw new RangeError(`boot failure rate must be in [0, 1] (got ${rate})`);
    this.bootFailRate = rate;
  }

  /** The next `count` launches to finish booting end in `error`. */
  failNextBoot(count = 1): void {
    this.bootFailNext += Math.max(0, count);
  }

  /** Provider API calls so far. */
  stats(): SimStats {
    const calls = { ...this.calls };
    const total = SIM_API_OPS.reduce((n, op) => n + calls[op], 0);
    return { calls, total, throttled: this.throttled, faulted: this.faulted };
  }

  /** Zeroes the call counters (e.g. between a benchmark's setup and its measured phase). */
  resetStats(): void {
    this.calls = SimCloud.zeroCalls();
    this.throttled = 0;
    this.faulted = 0;
  }

  // ── internals ────────────────────────────────────────────────────────────────────────────────────────

  private static zeroCalls(): Record<SimApiOp, number> {
    return { create: 0, wake: 0, sleep: 0, delete: 0, get: 0, list: 0, hosts: 0 };
  }

  /**
   * One API round trip: the call is counted, the rate limit and any injected fault are decided when it is
   * made (so tests can say "the next call fails"), and the answer, good or bad, comes after the API latency.
   */
  private async api(op: SimApiOp): Promise<void> {
    this.calls[op] += 1;
    const waitMs = this.bucket?.take() ?? 0;
    const fault = waitMs === 0 ? this.nextFault(op) : undefined;
    const latency = this.latency.apiMinMs + this.rng() * (this.latency.apiMaxMs - this.latency.apiMinMs);
    await this.clock.sleep(latency);
    if (waitMs > 0) {
      this.throttled += 1;
      throw new RateLimitedError(`sim: API rate limit exceeded on ${op}`, waitMs);
    }
    if (fault) {
      this.faulted += 1;
      throw fault;
    }
  }

  private nextFault(op: SimApiOp): ProviderError | undefined {
    const queue = this.faults.get(op);
    const head = queue?.[0];
    if (!queue || !head) return undefined;
    head.times -= 1;
    if (head.times <= 0) queue.shift();
    if (queue.length === 0) this.faults.delete(op);
    return head.make();
  }

  private noop(id: string): void {
    if (!this.live.has(id)) throw new NotFoundError(`sim: no instance ${id}`);
  }

  private checkWarmState(state: WarmState): void {
    if (!WARM_STATES.includes(state))
      throw new UnsupportedError(`sim: unknown warm state "${String(state)}"`);
  }

  private mustGet(id: string): SimInstance {
    const inst = this.live.get(id);
    if (!inst) throw new NotFoundError(`sim: no instance ${id}`);
    return inst;
  }

  private hostOf(inst: SimInstance): SimHost {
    const host = this.hostsByName.get(inst.host);
    if (!host) throw new NotFoundError(`sim: no host "${inst.host}"`);
    return host;
  }

  private claimSlot(host: SimHost): void {
    if (host.used >= host.capacity) {
      throw new InsufficientCapacityError(
        `sim: host ${host.name} has no free slot (${host.used}/${host.capacity} used)`,
        host.name,
      );
    }
    host.used += 1;
  }

  private releaseSlot(inst: SimInstance): void {
    if (!inst.holdsSlot) return;
    inst.holdsSlot = false;
    this.hostOf(inst).used -= 1;
  }

  private jittered(ms: number): number {
    return ms * (1 + this.latency.jitter * (2 * this.rng() - 1));
  }

  private sleepMs(to: Exclude<WarmState, 'running'>): number {
    switch (to) {
      case 'paused':
        return this.latency.pauseMs;
      case 'suspended':
      case 'hibernated':
        return memoryImageMs(this.latency);
      case 'stopped':
        return this.latency.shutdownMs;
      case 'shelved':
        return this.latency.shelveMs;
    }
  }

  private wakeMs(from: Exclude<WarmState, 'running' | 'shelved'>): number {
    switch (from) {
      case 'paused':
        return this.latency.pauseMs;
      case 'suspended':
      case 'hibernated':
        return memoryImageMs(this.latency);
      case 'stopped':
        return this.latency.bootMs;
    }
  }

  /** Cold launch: wait for the scheduler, pull the image (processor-shared), boot. */
  private launch(inst: SimInstance): void {
    const now = this.clock.now();
    const start = Math.max(now, this.schedulerFreeAt);
    this.schedulerFreeAt = start + this.jittered(this.latency.scheduleMs);
    inst.step = this.clock.after(this.schedulerFreeAt - now, () => {
      inst.step = this.transfers.start(inst.host, this.latency.imageBytes, () => {
        inst.step = this.clock.after(this.jittered(this.latency.bootMs), () => {
          inst.step = undefined;
          if (this.bootFails()) {
            inst.status = 'error';
            inst.fault = 'sim: guest failed to boot (injected boot failure)';
          } else {
            inst.status = 'running';
          }
          inst.busy = false;
          this.changed(inst);
        });
      });
    });
  }

  private bootFails(): boolean {
    if (this.bootFailNext > 0) {
      this.bootFailNext -= 1;
      return true;
    }
    // Draw only when failures are on, so turning them off leaves a seed's timeline untouched.
    return this.bootFailRate > 0 && this.rng() < this.bootFailRate;
  }

  private remove(inst: SimInstance): void {
    this.releaseSlot(inst);
    this.live.delete(inst.id);
    const pool = this.byPool.get(inst.pool);
    pool?.delete(inst.id);
    if (pool?.size === 0) this.byPool.delete(inst.pool);
    this.tombstones.set(inst.id, { ...view(inst), status: 'deleted', busy: false });
    if (this.tombstones.size > TOMBSTONES_KEPT) {
      const oldest = this.tombstones.keys().next();
      if (!oldest.done) this.tombstones.delete(oldest.value);
    }
    this.changed(inst);
  }

  /** Settles `id` into `result` if it is where `want` says, failed or gone; false while still pending. */
  private settle(id: string, want: ProviderStatus, result: WaitResult): boolean {
    const inst = this.live.get(id);
    if (!inst) {
      const tomb = this.tombstones.get(id);
      if (tomb && want === 'deleted') result.ready.push({ ...tomb, tags: { ...tomb.tags } });
      else result.failed.push({ id, reason: tomb ? 'deleted' : 'not found' });
      return true;
    }
    if (inst.status === want && !inst.busy) {
      result.ready.push(view(inst));
      return true;
    }
    // An instance in error is still on its way out when the caller waits for it to be deleted.
    if (inst.status === 'error' && want !== 'deleted') {
      result.failed.push({ id, reason: inst.fault ?? 'error' });
      return true;
    }
    return false;
  }

  private watch(id: string, waiter: Waiter): void {
    let set = this.watchers.get(id);
    if (!set) {
      set = new Set();
      this.watchers.set(id, set);
    }
    set.add(waiter);
  }

  private unwatch(id: string, waiter: Waiter): void {
    const set = this.watchers.get(id);
    if (!set) return;
    set.delete(waiter);
    if (set.size === 0) this.watchers.delete(id);
  }

  /** Tells the waiters on this instance that it changed. */
  private changed(inst: SimInstance): void {
    const set = this.watchers.get(inst.id);
    if (!set) return;
    for (const waiter of [...set]) {
      if (!waiter.pending.has(inst.id) || !this.settle(inst.id, waiter.want, waiter.result)) continue;
      waiter.pending.delete(inst.id);
      this.unwatch(inst.id, waiter);
      if (waiter.pending.size === 0) waiter.finish();
    }
  }
}
