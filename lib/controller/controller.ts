/**
 * The decision loop. On every tick, for each pool: fold the interval's metric samples into a desired
 * count (target tracking, scale-in stabilisation), promote or demote toward it, forecast what demand may
 * add before a refill can land, and refill each host's warm pool toward its target. Promotions, demotions
 * and refills run in the background and are tracked, so a tick never waits on a boot.
 */
import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import type { Clock } from '../clock/index.js';
import { type PoolSpec, UnknownPoolError } from '../domain/index.js';
import type { EventSink } from '../events/index.js';
import type { Logger } from '../log/index.js';
import { desiredFromMetric, predictivePolicy, type WarmPolicy } from '../policy/index.js';
import {
  countPool,
  demote,
  type PoolContext,
  type PoolCounts,
  promote,
  type RefillResult,
  reconcile,
  refill,
  refillHasWork,
} from '../pool/index.js';
import type { CloudProvider } from '../providers/index.js';
import { intervalStart, MetricAggregator, type MetricSample, reduce } from '../signals/index.js';
import type { StateStore } from '../store/index.js';
import { mapLimit } from '../util/index.js';
import {
  decidePool,
  effectiveSpec,
  NO_EXTRA,
  type PoolOverride,
  type PoolPolicyState,
  targetRule,
  type WarmExtra,
} from './decision.js';

/** Where ingested batch keys are marked in the store: not a pool name (those match [a-z0-9-]). */
const INGEST_NAMESPACE = '_ingest';

export interface ControllerOptions {
  pools: readonly PoolSpec[];
  providers: ReadonlyMap<string, CloudProvider>;
  store: StateStore;
  clock: Clock;
  events: EventSink;
  log: Logger;
  owner?: string;
  /** Warm hits and cold misses per pool, counted from the promotion events, shown in status. */
  promotions?: ReadonlyMap<string, { warmHits: number; coldMisses: number }>;
  /**
   * How a pool sizes its warm pool beyond the per-host targets; the pool's forecast config by default. The
   * simulator swaps in its baselines (a clairvoyant pool) here.
   */
  warmPolicy?: (spec: PoolSpec) => WarmPolicy;
}

export interface PoolStatus extends PoolCounts {
  desired: number;
  /** Warm instances the policy aims for over all hosts. */
  warmTarget: number;
  metric: { name: string; value: number | null };
  promotions: { warmHits: number; coldMisses: number };
}

export class Controller {
  readonly owner: string;
  private readonly contexts = new Map<string, PoolContext>();
  private readonly inflight = new Map<string, Set<Promise<unknown>>>();
  private readonly refilling = new Set<string>();
  private readonly policies = new WeakMap<PoolSpec, WarmPolicy>();
  private readonly abort = new AbortController();
  /** Per pool, the last decision's spec and the warm instances it asked for beyond the per-host targets. */
  private readonly lastDecision = new Map<string, { ctx: PoolContext; extra: WarmExtra }>();

  constructor(private readonly options: ControllerOptions) {
    this.owner = options.owner ?? `controller-${randomUUID().slice(0, 8)}`;
    // Every wait of every background operation listens on this one signal.
    setMaxListeners(0, this.abort.signal);
    for (const spec of options.pools) this.contexts.set(spec.name, this.newContext(spec));
  }

  private newContext(spec: PoolSpec): PoolContext {
    const provider = this.options.providers.get(spec.provider);
    if (!provider) throw new Error(`pool ${spec.name}: no provider named "${spec.provider}"`);
    if (!this.inflight.has(spec.name)) this.inflight.set(spec.name, new Set());
    return {
      spec,
      provider,
      store: this.options.store,
      clock: this.options.clock,
      events: this.options.events,
      log: this.options.log.child({ pool: spec.name }),
      owner: this.owner,
      requestRefill: (pool) => this.startRefill(pool),
    };
  }

  /**
   * Swaps in new pool specs (a config reload), all or nothing: a pool keeps its provider, a new pool gets
   * its provider, a pool left out is no longer decided (its instances stay as they are). Operations in
   * flight finish on the spec they started with; the next decision uses the new one. Throws, changing
   * nothing, when a pool's provider changed or is unknown: providers are built once, at start.
   */
  reconfigure(pools: readonly PoolSpec[]): { added: string[]; removed: string[]; changed: string[] } {
    const next = new Map<string, PoolContext>();
    for (const spec of pools) {
      const ctx = this.contexts.get(spec.name);
      if (ctx && ctx.spec.provider !== spec.provider) {
        throw new Error(
          `pool ${spec.name}: provider changed from "${ctx.spec.provider}" to "${spec.provider}"; providers are built at start, restart to apply`,
        );
      }
      next.set(spec.name, ctx ? { ...ctx, spec } : this.newContext(spec));
    }
    const old = this.contexts;
    const removed = [...old.keys()].filter((name) => !next.has(name));
    const added = [...next.keys()].filter((name) => !old.has(name));
    const changed = [...next.keys()].filter(
      (name) => old.has(name) && JSON.stringify(old.get(name)!.spec) !== JSON.stringify(next.get(name)!.spec),
    );
    old.clear();
    for (const [name, ctx] of next) old.set(name, ctx);
    // The last decision's targets came from the old spec: refills wait for the next decision's.
    for (const name of [...removed, ...added, ...changed]) this.lastDecision.delete(name);
    return { added, removed, changed };
  }

  get pools(): PoolSpec[] {
    return [...this.contexts.values()].map((c) => c.spec);
  }

  context(pool: string): PoolContext {
    const ctx = this.contexts.get(pool);
    if (!ctx) throw new UnknownPoolError(pool);
    return ctx;
  }

  /**
   * Ingests metric samples: validates every pool first (UnknownPoolError, nothing recorded), folds the
   * samples per pool, metric and interval, and merges them into the shared intervals in the store. When an
   * open interval already asks for more instances than the pool's last decision, the pool is decided at
   * once: a burst does not wait for its interval to close. Samples of another metric than the pool's
   * capacity metric are ignored.
   */
  async ingest(samples: readonly MetricSample[]): Promise<{ accepted: number; ignored: number }> {
    for (const s of samples) this.context(s.pool);
    const batch = new MetricAggregator();
    let ignored = 0;
    for (const s of samples) {
      const { spec } = this.context(s.pool);
      if (s.metric !== spec.capacity.metric) ignored++;
      else batch.add(s.pool, s.metric, s.value, s.ts, spec.capacity.intervalMs);
    }
    const breached = new Map<string, number>();
    await Promise.all(
      batch.drain().map(async ({ pool, metric, start, stats }) => {
        const ctx = this.context(pool);
        const { spec } = ctx;
        const merged = await ctx.store.mergeInterval(
          pool,
          metric,
          start,
          stats,
          spec.capacity.intervalMs * 12,
        );
        if (start !== intervalStart(ctx.clock.now(), spec.capacity.intervalMs)) return;
        const value = reduce(merged, spec.capacity.aggregate);
        const decided =
          (await ctx.store.getPoolState<PoolPolicyState>(pool))?.data.desired ?? spec.bounds.minActive;
        if (desiredFromMetric(spec, value) > decided) breached.set(pool, value);
      }),
    );
    await Promise.all([...breached].map(([pool, value]) => this.decide(this.context(pool), value)));
    return { accepted: samples.length - ignored, ignored };
  }

  /**
   * One decision round over every pool, a bounded number at a time; every pool is decided even when one
   * fails, and the first failure is thrown after.
   */
  async tick(): Promise<void> {
    const results = await mapLimit([...this.contexts.values()], DECIDE_CONCURRENCY, (ctx) =>
      this.decide(ctx),
    );
    const failed = results.find((r) => 'error' in r);
    if (failed) throw failed.error;
  }

  /** Reconciles every pool with its cloud. */
  async reconcileAll(): Promise<void> {
    await Promise.all(
      [...this.contexts.values()].map((ctx) =>
        this.track(ctx.spec.name, reconcile(ctx, { signal: this.abort.signal })).then((r) => {
          if (
            r.adopted.length + r.forgotten.length + r.resumed.length + r.replaced.length + r.rotated.length >
            0
          ) {
            ctx.log.info({ ...summarise(r) }, 'reconciled');
          }
        }),
      ),
    );
  }

  /**
   * Decides for one pool now: on the last closed interval, or on `breach`, the value of an open interval
   * that already asks for more.
   */
  async decide(base: PoolContext, breach?: number): Promise<void> {
    const { store, clock } = base;
    const now = clock.now();
    const env = await store.getPoolState<PoolPolicyState>(base.spec.name);
    const prev = env?.data;
    const spec = effectiveSpec(base.spec, prev?.override);
    const ctx: PoolContext = spec === base.spec ? base : { ...base, spec };
    const closedAt = intervalStart(now, spec.capacity.intervalMs) - spec.capacity.intervalMs;
    const [closed, open, records, reserved] = await Promise.all([
      breach === undefined ? store.getInterval(spec.name, spec.capacity.metric, closedAt) : undefined,
      breach === undefined
        ? store.getInterval(spec.name, spec.capacity.metric, closedAt + spec.capacity.intervalMs)
        : undefined,
      store.list(spec.name),
      store.reservedSlots(spec.name),
    ]);
    const counts = countPool(spec, records);
    const { desired, next, extra, targets } = decidePool({
      spec,
      now,
      prev,
      closedAt,
      closed,
      open,
      breach,
      counts,
      warmPolicy: this.warmPolicy(spec),
    });
    if (!(await store.putPoolState(spec.name, next, env?.version ?? 0))) {
      // Another controller decided for this pool since we read: its decision stands for this round.
      return;
    }

    // Cold launches a promotion has reserved but not yet recorded are on their way into service too.
    const serving = counts.serving + reserved;
    this.lastDecision.set(spec.name, { ctx, extra });
    if (desired > serving) {
      this.track(spec.name, promote(ctx, desired - serving, { reason: 'metric', signal: this.abort.signal }));
    } else if (desired < serving && counts.active > 0) {
      const n = Math.min(counts.active, serving - desired);
      // The refill waits for the demotion: instances going back to the pool fill it first, rather than a
      // refill launching new ones for the same targets while the demotion deletes the old as surplus.
      this.track(
        spec.name,
        demote(ctx, n, { targets: targets.keep, signal: this.abort.signal }).finally(() =>
          this.startRefill(spec.name),
        ),
      );
      return;
    } else if (!refillHasWork(ctx, records, targets, counts)) {
      // At its targets: a refill would find nothing to launch or trim on these records. A promotion asks
      // for one itself; any other loss (a failed instance) shows as a deficit to the next decision.
      return;
    }
    this.startRefill(spec.name);
  }

  /**
   * Changes a pool's policy state (override, holds) by compare-and-set, retrying on a concurrent writer,
   * then decides for the pool at once. Returns the state as written.
   */
  private async updatePolicy(
    pool: string,
    change: (state: PoolPolicyState) => PoolPolicyState | undefined,
  ): Promise<PoolPolicyState> {
    const ctx = this.context(pool);
    for (let attempt = 0; attempt < 20; attempt++) {
      const env = await ctx.store.getPoolState<PoolPolicyState>(pool);
      const current: PoolPolicyState = env?.data ?? { desired: ctx.spec.bounds.minActive, history: [] };
      const next = change(structuredClone(current));
      // No change asked for: nothing to write, nothing new to decide.
      if (next === undefined) return current;
      if (await ctx.store.putPoolState(pool, next, env?.version ?? 0)) {
        await this.decide(ctx);
        return next;
      }
    }
    throw new Error(`pool ${pool}: policy state kept changing under us; try again`);
  }

  /** Sets (merges) a manual override; `undefined` fields are left as they were. */
  async setOverride(pool: string, override: PoolOverride): Promise<PoolOverride> {
    const next = await this.updatePolicy(pool, (s) => ({ ...s, override: { ...s.override, ...override } }));
    return next.override ?? {};
  }

  /** Clears the manual override and every manual hold: the config and the forecast rule again. */
  async clearOverride(pool: string): Promise<void> {
    await this.updatePolicy(pool, (s) => {
      const { override: _o, holds, ...rest } = s;
      const kept = Object.fromEntries(Object.entries(holds ?? {}).filter(([k]) => !k.startsWith('manual')));
      return Object.keys(kept).length > 0 ? { ...rest, holds: kept } : rest;
    });
  }

  /**
   * Holds desired at least at `desired` for `key` (a firing alert's fingerprint, `generic`, `manual`), or
   * raises the floor by `by` over what is decided now. With `ifAbsent`, a key that holds already is left as
   * it is (an alert repeated while it fires scales out once). Returns the key's floor.
   */
  async holdDemand(
    pool: string,
    key: string,
    amount: { desired: number } | { by: number },
    options: { ifAbsent?: boolean } = {},
  ): Promise<number> {
    let floor = 0;
    await this.updatePolicy(pool, (s) => {
      const held = s.holds?.[key];
      if (options.ifAbsent && held !== undefined) {
        floor = held;
        return undefined;
      }
      floor = Math.max(0, 'desired' in amount ? amount.desired : Math.max(s.desired, held ?? 0) + amount.by);
      return { ...s, holds: { ...s.holds, [key]: floor } };
    });
    return floor;
  }

  /**
   * Lowers the hold of `key` by `by`; a hold at zero is released. Without a hold of that key nothing
   * changes: lowering must never set a floor that holds the pool up after its load falls.
   */
  async lowerHold(pool: string, key: string, by: number): Promise<void> {
    await this.updatePolicy(pool, (s) => {
      const held = s.holds?.[key];
      if (held === undefined) return undefined;
      const holds = { ...s.holds, [key]: Math.max(0, held - by) };
      if (holds[key] === 0) delete holds[key];
      return { ...s, holds };
    });
  }

  /** Releases the hold of `key` (a resolved alert). */
  async releaseHold(pool: string, key: string): Promise<void> {
    await this.updatePolicy(pool, (s) => {
      if (!s.holds || !(key in s.holds)) return undefined;
      const { [key]: _gone, ...holds } = s.holds;
      return { ...s, holds };
    });
  }

  /** The override and holds in force for a pool (admin API). */
  async policy(
    pool: string,
  ): Promise<{ override: PoolOverride; holds: Record<string, number>; desired: number }> {
    const ctx = this.context(pool);
    const env = await ctx.store.getPoolState<PoolPolicyState>(pool);
    return {
      override: env?.data.override ?? {},
      holds: env?.data.holds ?? {},
      desired: env?.data.desired ?? ctx.spec.bounds.minActive,
    };
  }

  /** Pool operations (promotions, demotions, refills, reconciles) running now: what backpressure reads. */
  get busy(): number {
    let n = 0;
    for (const set of this.inflight.values()) n += set.size;
    return n;
  }

  /**
   * True when a batch with this key (e.g. `topic/partition/first-last`) was ingested before: at-least-once
   * delivery hands a batch over again after a crash between ingest and commit.
   */
  seenBatch(key: string): Promise<boolean> {
    return this.options.store.isMarked(INGEST_NAMESPACE, key);
  }

  /** The controller's clock time (ms). */
  now(): number {
    return this.options.clock.now();
  }

  /** True the first time `key` is seen in `namespace` within `ttlMs` (a webhook signature, say). */
  firstTime(namespace: string, key: string, ttlMs: number): Promise<boolean> {
    return this.options.store.markOnce(`_${namespace}`, key, ttlMs);
  }

  /** Records that the batch with this key is ingested (for a day). */
  async markBatch(key: string): Promise<void> {
    await this.options.store.markOnce(INGEST_NAMESPACE, key, 24 * 3600_000);
  }

  /** Status of every pool, for GET /status. */
  async status(): Promise<PoolStatus[]> {
    return Promise.all(
      [...this.contexts.values()].map(async (ctx) => {
        const { spec } = ctx;
        const [records, env] = await Promise.all([
          ctx.store.list(spec.name),
          ctx.store.getPoolState<PoolPolicyState>(spec.name),
        ]);
        const counts = countPool(spec, records);
        return {
          ...counts,
          desired: env?.data.desired ?? spec.bounds.minActive,
          warmTarget: env?.data.warmTarget ?? spec.hosts.reduce((n, h) => n + h.target, 0),
          metric: { name: spec.capacity.metric, value: env?.data.lastValue ?? null },
          promotions: { ...(this.options.promotions?.get(spec.name) ?? { warmHits: 0, coldMisses: 0 }) },
        };
      }),
    );
  }

  /** Promises of work still running, for shutdown and tests. */
  async idle(): Promise<void> {
    for (;;) {
      const all = [...this.inflight.values()].flatMap((s) => [...s]);
      if (all.length === 0) return;
      await Promise.allSettled(all);
    }
  }

  /** Stops background work at its next step (its leases let the next controller finish it). */
  async stop(): Promise<void> {
    this.abort.abort(new Error('controller stopping'));
    await this.idle();
  }

  /** The pool's warm policy, built once per spec (a reload or an override brings a new one). */
  private warmPolicy(spec: PoolSpec): WarmPolicy {
    let policy = this.policies.get(spec);
    if (!policy) {
      policy = (this.options.warmPolicy ?? predictivePolicy)(spec);
      this.policies.set(spec, policy);
    }
    return policy;
  }

  /**
   * Refills a pool now and waits until its launches are warm (or failed), toward the targets of the last
   * decision in the store, whichever controller made it: what a scheduled refill runs.
   */
  async refillPool(pool: string): Promise<RefillResult> {
    const base = this.context(pool);
    const prev = (await base.store.getPoolState<PoolPolicyState>(pool))?.data;
    const spec = effectiveSpec(base.spec, prev?.override);
    const extra = prev?.warmExtra ?? NO_EXTRA;
    return this.track(
      pool,
      refill({ ...base, spec }, targetRule(spec, extra), { signal: this.abort.signal }),
    );
  }

  private startRefill(pool: string): void {
    // A pool dropped by a reload is no longer refilled.
    if (this.refilling.has(pool) || this.abort.signal.aborted || !this.contexts.has(pool)) return;
    // The spec (and override) and extra of this controller's last decision; the config's until it has
    // decided. The targets are worked out on the records the refill decides on: since the decision, a
    // promotion may have emptied a host, or a demotion put instances back where the extras then stay.
    const last = this.lastDecision.get(pool);
    const ctx = last?.ctx ?? this.context(pool);
    const extra = last?.extra ?? NO_EXTRA;
    this.refilling.add(pool);
    // One refill per pool decides at a time; once its launches are recorded the next may start, while the
    // launches boot in the background.
    const done = () => this.refilling.delete(pool);
    const work = refill(ctx, targetRule(ctx.spec, extra), {
      signal: this.abort.signal,
      onLaunched: done,
    });
    this.track(pool, work.finally(done));
  }

  private track<T>(pool: string, work: Promise<T>): Promise<T> {
    const set = this.inflight.get(pool)!;
    set.add(work);
    // The pool may have been dropped by a reload while its decision ran.
    const log = this.contexts.get(pool)?.log ?? this.options.log.child({ pool });
    work
      .catch((err: unknown) => {
        if (!this.abort.signal.aborted) log.error({ err: String(err) }, 'pool operation failed');
      })
      .finally(() => set.delete(work));
    return work;
  }
}

/**
 * Pools decided at once in a round: enough to keep a shared store busy, few enough that a round over
 * thousands of pools does not hold every pool's records in memory at the same time (bench:decide: 1,000
 * pools at once spent most of the round collecting garbage).
 */
const DECIDE_CONCURRENCY = 32;

function summarise(r: object): Record<string, number> {
  return Object.fromEntries(Object.entries(r).map(([k, v]) => [k, (v as unknown[]).length]));
}
