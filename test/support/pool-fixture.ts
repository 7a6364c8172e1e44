/**
 * One pool on a VirtualClock, a seeded SimCloud and a MemoryStore, with its spec compiled by parseConfig from
 * a raw document as an operator would write it. Tests drive every async step with `clock.run(() => ...)`, so
 * minutes of cloud time pass in milliseconds and a seed replays the same run.
 */
import { VirtualClock } from '../../lib/clock/index.js';
import { parseConfig, simHosts } from '../../lib/config/index.js';
import type { ForecastKind, InstanceRecord, PoolSpec, WarmState } from '../../lib/domain/index.js';
import { MemoryEventSink } from '../../lib/events/index.js';
import { silentLogger } from '../../lib/log/index.js';
import { countPool, type PoolContext, type PoolCounts, refill } from '../../lib/pool/index.js';
import { type LatencyModel, type ProviderInstance, SimCloud } from '../../lib/providers/index.js';
import { MemoryStore } from '../../lib/store/index.js';

export const POOL = 'web';

export interface PoolFixtureOptions {
  /** Sim hosts, named sim-host-01 …; every one is a host of the pool. Default 3. */
  hosts?: number;
  /** Instances each sim host can hold. Default 40. */
  capacityPerHost?: number;
  /** Warm target per host. Default 2. */
  warmPerHost?: number;
  /** Warm floor per host. Default 0. */
  minPerHost?: number;
  /** Warm ceiling per host. Default max(5, warmPerHost). */
  maxPerHost?: number;
  /** Warm instances over all hosts at most. Default: the sum of the hosts' max. */
  maxWarm?: number;
  warmState?: WarmState;
  minActive?: number;
  /** Default 100. */
  maxActive?: number;
  /** Reuse on scale-in. Default true. */
  reuse?: boolean;
  generation?: number;
  maxWarmAgeSeconds?: number;
  stabilisationSeconds?: number;
  forecast?: ForecastKind;
  perInstance?: number;
  seed?: number;
  owner?: string;
  latency?: Partial<LatencyModel>;
}

export interface PoolFixture {
  clock: VirtualClock;
  provider: SimCloud;
  store: MemoryStore;
  events: MemoryEventSink;
  ctx: PoolContext;
  spec: PoolSpec;
  /** Pools named in ctx.requestRefill calls, in order. */
  refillRequests: string[];
  /** The pool's hosts, in config order. */
  hostNames: string[];
  /** The same pool seen by another controller (its own owner name and claim ids). */
  as(owner: string, spec?: PoolSpec): PoolContext;
}

/** Builds the pool; nothing is launched yet. */
export function poolFixture(options: PoolFixtureOptions = {}): PoolFixture {
  const hostCount = options.hosts ?? 3;
  const target = options.warmPerHost ?? 2;
  const pool: Record<string, unknown> = {
    name: POOL,
    provider: 'sim',
    template: { generation: options.generation ?? 1, params: { image: 'ubuntu-22.04', flavor: 'm1.small' } },
    warm: {
      state: options.warmState ?? 'paused',
      perHost: {
        min: options.minPerHost ?? 0,
        target,
        max: options.maxPerHost ?? Math.max(5, target),
      },
      hosts: Array.from({ length: hostCount }, (_, i) => `sim-host-${String(i + 1).padStart(2, '0')}`),
      ...(options.maxWarm === undefined ? {} : { maxTotal: options.maxWarm }),
      maxAgeSeconds: options.maxWarmAgeSeconds ?? 0,
    },
    active: { min: options.minActive ?? 0, max: options.maxActive ?? 100 },
    capacity: { metric: 'requests_per_s', perInstance: options.perInstance ?? 100, aggregate: 'avg' },
    forecast: { kind: options.forecast ?? 'none' },
    scaleIn: { stabilisationSeconds: options.stabilisationSeconds ?? 300, reuse: options.reuse ?? true },
  };
  const { config, pools } = parseConfig(
    {
      providers: {
        sim: {
          kind: 'sim',
          hosts: hostCount,
          capacityPerHost: options.capacityPerHost ?? 40,
          seed: options.seed ?? 1,
        },
      },
      pools: [pool],
    },
    'pool fixture',
  );
  const spec = pools[0]!;
  const sim = config.providers.sim;
  if (sim?.kind !== 'sim') throw new Error('pool fixture: no sim provider');

  const clock = new VirtualClock();
  const provider = new SimCloud({
    clock,
    hosts: simHosts(sim),
    seed: sim.seed,
    ...(options.latency ? { latency: options.latency } : {}),
  });
  const store = new MemoryStore(clock);
  const events = new MemoryEventSink();
  const refillRequests: string[] = [];
  const log = silentLogger();
  const as = (owner: string, s: PoolSpec = spec): PoolContext => {
    let claims = 0;
    return {
      spec: s,
      store,
      provider,
      clock,
      events,
      log,
      owner,
      newId: () => `${owner}-claim-${++claims}`,
      requestRefill: (name) => refillRequests.push(name),
    };
  };
  return {
    clock,
    provider,
    store,
    events,
    spec,
    ctx: as(options.owner ?? 'ctl-a'),
    refillRequests,
    hostNames: spec.hosts.map((h) => h.name),
    as,
  };
}

/** Runs a refill to its end (every launch warm or failed) and returns its result. */
export function fill(fx: PoolFixture, targets?: ReadonlyMap<string, number>, ctx: PoolContext = fx.ctx) {
  return fx.clock.run(() => refill(ctx, targets));
}

export async function records(fx: PoolFixture): Promise<InstanceRecord[]> {
  return fx.store.list(POOL);
}

export async function counts(fx: PoolFixture): Promise<PoolCounts> {
  return countPool(fx.spec, await fx.store.list(POOL));
}

/** The cloud's instances of the pool (deleted ones excluded), without running the clock. */
export async function cloudInstances(fx: PoolFixture): Promise<ProviderInstance[]> {
  return fx.clock.run(() => fx.provider.list(POOL));
}

/** Warm instances per host, in config order. */
export async function warmByHost(fx: PoolFixture): Promise<Record<string, number>> {
  const c = await counts(fx);
  return Object.fromEntries(c.hosts.map((h) => [h.name, h.warm]));
}

/** Counts `values` by key. */
export function tally<T>(values: readonly T[], key: (v: T) => string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values) {
    const k = key(v);
    out[k] = (out[k] ?? 0) + 1;
  }
  return out;
}

/**
 * The store and the cloud agree: the same ids, each record resting (warm or active) with the cloud status
 * that state implies and no action in flight. Returns the problems found (empty when they agree).
 */
export async function disagreements(fx: PoolFixture): Promise<string[]> {
  const recs = await records(fx);
  const cloud = await cloudInstances(fx);
  const byId = new Map(cloud.map((c) => [c.id, c]));
  const problems: string[] = [];
  for (const rec of recs) {
    const inst = byId.get(rec.id);
    if (!inst) {
      problems.push(`${rec.id}: in the store (${rec.state}) but not in the cloud`);
      continue;
    }
    const want = rec.state === 'active' ? 'running' : rec.state === 'warm' ? rec.warmState : undefined;
    if (want === undefined) problems.push(`${rec.id}: not resting (${rec.state})`);
    else if (inst.status !== want || inst.busy) {
      problems.push(`${rec.id}: ${rec.state} in the store but ${inst.status}${inst.busy ? ' (busy)' : ''}`);
    }
    if (inst.host !== rec.host)
      problems.push(`${rec.id}: host ${rec.host} in the store, ${inst.host} in the cloud`);
  }
  const known = new Set(recs.map((r) => r.id));
  for (const inst of cloud)
    if (!known.has(inst.id)) problems.push(`${inst.id}: in the cloud but not in the store`);
  return problems;
}
