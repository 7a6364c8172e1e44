/**
 * `warmpool simulate`: replays a demand trace under each policy and reports, per policy, how much scale-out
 * the warm pool served at once, what waited and for how long, the warm instances held idle, and the cloud
 * API calls made. `static` without a size is searched for: the smallest fixed pool that serves the target
 * share, so it is compared with `predictive` at equal service.
 */
import { type LoadedConfig, parseConfig, simHosts } from '../config/index.js';
import type { PoolSpec } from '../domain/index.js';
import { type PolicyChoice, specFor } from './policies.js';
import { fixedCovering, riseModel, risesByRow } from './rises.js';
import { type RunResult, runTrace, type Series, SIM_METRIC, SIM_PROVIDER, type SimCloudSpec } from './run.js';
import { type DemandScale, type Trace, toDemand } from './trace.js';
import { runInWorkers } from './workers.js';

/** Share of scale-out demand `static` must serve from warm when its size is searched for, %. */
export const DEFAULT_TARGET_PCT = 99.5;
/** The refill lead time of the default config: a launch on the sim cloud, with room for several per host. */
export const DEFAULT_LEAD_SECONDS = 180;
export const DEFAULT_PEAK_INSTANCES = 100;
export const DEFAULT_HOSTS = 10;
const DAY_MS = 86_400_000;

export interface SimulateOptions {
  trace: Trace;
  /** Demand in instances: per instance, or the peak's instances (default 100 at the peak). */
  scale?: DemandScale;
  /** A warmpool config: its pool (the first, or `pool`) is simulated; default: 10 hosts of the sim cloud. */
  config?: LoadedConfig;
  pool?: string;
  policies: readonly PolicyChoice[];
  /** `static` search target, % of scale-out served from warm. */
  targetPct?: number;
  /** Measurement starts after this much trace time (default: one day, at most a quarter of the trace). */
  warmupMs?: number;
  /** Keep a series per policy for the plot. */
  series?: boolean;
  /** Progress: the policy being run (with the static size tried) and the share of its run done. */
  onProgress?: (label: string, done: number) => void;
  /** Run the policies on this many worker threads at once (default 1: in this thread). */
  threads?: number;
}

export interface PolicyReport extends Omit<RunResult, 'series'> {
  /** static: the warm instances per host it ran with. */
  perHost?: number;
  /** timing: the warm instances it held before each rise. */
  size?: number;
  series?: Series;
}

export interface SimulateReport {
  trace: string;
  rows: number;
  stepS: number;
  days: number;
  perInstance: number;
  peakInstances: number;
  hosts: number;
  leadTimeS: number;
  warmupS: number;
  targetPct: number;
  policies: Record<string, PolicyReport>;
}

/** What each sim host can hold: room for twice the peak over the hosts, and a few to spare. */
function roomPerHost(peak: number, hosts: number): number {
  return Math.ceil((2 * Math.max(1, peak)) / hosts) + 4;
}

/** The default simulated setup: one pool over `hosts` sim hosts with room for twice the peak. */
export function defaultSimConfig(peak: number, stepMs: number, hosts = DEFAULT_HOSTS): LoadedConfig {
  const names = Array.from({ length: hosts }, (_, i) => `sim-host-${String(i + 1).padStart(2, '0')}`);
  const perHost = roomPerHost(peak, hosts);
  return parseConfig(
    {
      providers: { [SIM_PROVIDER]: { kind: 'sim', hosts: names, capacityPerHost: perHost, seed: 1 } },
      pools: [
        {
          name: 'sim',
          provider: SIM_PROVIDER,
          template: { params: { image: 'ubuntu-22.04', flavor: 'm1.small' } },
          warm: { state: 'paused', perHost: { min: 0, target: 0, max: perHost }, hosts: names },
          active: { min: 0, max: 2 * Math.max(1, peak) },
          capacity: { metric: SIM_METRIC, perInstance: 1, intervalSeconds: stepMs / 1000 },
          forecast: { horizonSeconds: DEFAULT_LEAD_SECONDS },
          // Room for a burst's worth of launches at once, so that a lead time covers a large refill.
          refill: { bootTimeoutSeconds: 3600, concurrency: 64, maxLaunchesPerHost: 8 },
        },
      ],
    },
    'simulate default',
  );
}

/** The pool and the cloud a config describes, as the simulator runs them. */
function setup(
  loaded: LoadedConfig,
  poolName: string | undefined,
  stepMs: number,
  peak: number,
): { base: PoolSpec; cloud: SimCloudSpec } {
  const spec = poolName ? loaded.pools.find((p) => p.name === poolName) : loaded.pools[0];
  if (!spec) {
    const known = loaded.pools.map((p) => p.name).join(', ') || 'none';
    throw new Error(
      `${loaded.source}: no pool ${poolName ? `named "${poolName}"` : 'to simulate'} (pools: ${known})`,
    );
  }
  const provider = loaded.config.providers[spec.provider];
  const cloud: SimCloudSpec =
    provider?.kind === 'sim'
      ? { hosts: simHosts(provider), latency: provider.latency, seed: provider.seed }
      : {
          // Another cloud's pool runs on sim hosts of the same names, with room for twice the peak.
          hosts: spec.hosts.map((h) => ({
            name: h.name,
            capacity: roomPerHost(peak, spec.hosts.length),
          })),
          seed: 1,
        };
  const base: PoolSpec = {
    ...spec,
    provider: SIM_PROVIDER,
    // The trace is the metric: one unit per instance, decided once per row.
    capacity: { metric: SIM_METRIC, perInstance: 1, aggregate: 'last', intervalMs: stepMs },
  };
  return { base, cloud };
}

/** Everything a policy's run needs, derived from the options alone, so a worker thread derives the same. */
export interface Prepared {
  trace: Trace;
  demand: Int32Array;
  perInstance: number;
  peak: number;
  base: PoolSpec;
  cloud: SimCloudSpec;
  warmupMs: number;
  targetPct: number;
  sampleEvery: number;
}

export type PlainSimulateOptions = Omit<SimulateOptions, 'onProgress' | 'policies' | 'threads'>;

export function prepare(options: PlainSimulateOptions): Prepared {
  const { trace } = options;
  const { perInstance, demand } = toDemand(trace, options.scale ?? { peakInstances: DEFAULT_PEAK_INSTANCES });
  const peak = demand.reduce((a, b) => Math.max(a, b), 0);
  const loaded = options.config ?? defaultSimConfig(peak, trace.stepMs);
  const { base, cloud } = setup(loaded, options.pool, trace.stepMs, peak);
  const durationMs = demand.length * trace.stepMs;
  return {
    trace,
    demand,
    perInstance,
    peak,
    base,
    cloud,
    warmupMs: options.warmupMs ?? Math.min(DAY_MS, Math.floor(durationMs / 4)),
    targetPct: options.targetPct ?? DEFAULT_TARGET_PCT,
    // Plots have at most ~2000 points per policy.
    sampleEvery: options.series ? Math.max(1, Math.ceil(demand.length / 2000)) : 0,
  };
}

/** One policy over the trace; `static` or `timing` without a size searches for it. */
export async function runPolicy(
  p: Prepared,
  choice: PolicyChoice,
  onProgress?: (label: string, done: number) => void,
): Promise<PolicyReport> {
  const run = (label: string, c: PolicyChoice): Promise<RunResult> => {
    const { spec, warmPolicy } = specFor(p.base, c, p.demand, p.trace.stepMs);
    return runTrace({
      demand: p.demand,
      stepMs: p.trace.stepMs,
      spec,
      cloud: p.cloud,
      ...(warmPolicy ? { warmPolicy } : {}),
      measureFromMs: p.warmupMs,
      sampleEvery: p.sampleEvery,
      ...(onProgress ? { onProgress: (done: number) => onProgress(label, done) } : {}),
    });
  };
  const hosts = p.base.hosts;
  if (choice.name === 'static' && choice.perHost === undefined) {
    // The guess is per host: the smallest pool over all hosts, shared out.
    const guess = Math.ceil(firstGuess(p) / hosts.length);
    const cap = Math.min(...hosts.map((h) => h.max), Math.floor(p.base.bounds.maxWarm / hosts.length));
    const { size, result } = await searchSmallest(p.targetPct, guess, cap, (n) =>
      run(`${choice.label} (${n}/host)`, { ...choice, perHost: n }),
    );
    return { ...result, perHost: size };
  }
  if (choice.name === 'timing' && choice.size === undefined) {
    const cap = Math.min(
      hosts.reduce((n, h) => n + h.max, 0),
      p.base.bounds.maxWarm,
    );
    const { size, result } = await searchSmallest(p.targetPct, firstGuess(p), cap, (n) =>
      run(`${choice.label} (${n})`, { ...choice, size: n }),
    );
    return { ...result, size };
  }
  const r = await run(choice.label, choice);
  if (choice.name === 'static') return { ...r, perHost: choice.perHost };
  if (choice.name === 'timing') return { ...r, size: choice.size };
  return r;
}

export async function simulate(options: SimulateOptions): Promise<SimulateReport> {
  const p = prepare(options);
  const threads = Math.max(1, Math.min(options.threads ?? 1, options.policies.length));
  const reports =
    threads > 1
      ? await runInWorkers(options, threads)
      : await sequential(options.policies, (c) => runPolicy(p, c, options.onProgress));
  const policies: Record<string, PolicyReport> = {};
  options.policies.forEach((c, i) => {
    policies[c.label] = reports[i]!;
  });
  const durationMs = p.demand.length * p.trace.stepMs;
  return {
    trace: p.trace.name,
    rows: p.demand.length,
    stepS: p.trace.stepMs / 1000,
    days: durationMs / DAY_MS,
    perInstance: p.perInstance,
    peakInstances: p.peak,
    hosts: p.base.hosts.length,
    leadTimeS: p.base.forecast.horizonMs / 1000,
    warmupS: p.warmupMs / 1000,
    targetPct: p.targetPct,
    policies,
  };
}

async function sequential<T, R>(items: readonly T[], fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (const item of items) out.push(await fn(item));
  return out;
}

/**
 * A first guess at a pool's size: the smallest fixed pool that covers the target share of the rises after
 * the warm-up, as if it refilled at once. The search starts there and checks it by full runs.
 */
function firstGuess(p: Prepared): number {
  const step = p.trace.stepMs;
  const { rise } = risesByRow(riseModel(p.base, p.demand, step));
  return Math.ceil(fixedCovering(rise.subarray(Math.floor(p.warmupMs / step)), p.targetPct / 100) - 1e-9);
}

/**
 * The smallest size whose run serves `targetPct` from warm, starting from `guess`: up from it by doubling
 * the step until a size passes, then bisecting down to the smallest that does. More warm instances never
 * serve less, so a good guess settles it in two or three runs. Stops at `cap`, reporting that size if even
 * it falls short.
 */
export async function searchSmallest(
  targetPct: number,
  guess: number,
  cap: number,
  runAt: (size: number) => Promise<RunResult>,
): Promise<{ size: number; result: RunResult }> {
  const tried = new Map<number, RunResult>();
  const at = async (n: number) => {
    let r = tried.get(n);
    if (!r) {
      r = await runAt(n);
      tried.set(n, r);
    }
    return r;
  };
  const passes = async (n: number) => (await at(n)).servedWarmPct >= targetPct;
  let hi = Math.min(cap, Math.max(1, guess));
  let lo = hi - 1; // the largest size known (or taken) to fail; 0 serves nothing from warm
  if (await passes(hi)) {
    // Walk down: the guess may be generous.
    while (lo > 0 && (await passes(lo))) {
      hi = lo;
      lo = Math.max(0, hi - Math.max(1, Math.floor(hi / 4)));
    }
  } else {
    let stepUp = 1;
    while (!(await passes(hi))) {
      if (hi >= cap) return { size: cap, result: await at(cap) };
      lo = hi;
      hi = Math.min(cap, hi + stepUp);
      stepUp *= 2;
    }
  }
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (await passes(mid)) hi = mid;
    else lo = mid;
  }
  return { size: hi, result: await at(hi) };
}
