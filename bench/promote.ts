/**
 * bench:promote: the time until N instances serve, promoted from a warm pool of paused instances versus
 * launched cold, on the same simulated cloud (virtual clock: cloud time, not wall time), and the
 * controller's own overhead from the decision to the last wake call accepted (wall clock).
 *
 *   npm run bench:promote -- --instances 100 [--hosts 10] [--runs 5] [--seed 1] [--json]
 *
 * The last line printed is one JSON object (with --json, the only line).
 */
import { VirtualClock } from '../lib/clock/index.js';
import { parseConfig } from '../lib/config/index.js';
import { MemoryEventSink } from '../lib/events/index.js';
import { silentLogger } from '../lib/log/index.js';
import { type PoolContext, promote, refill } from '../lib/pool/index.js';
import { SimCloud } from '../lib/providers/sim/index.js';
import { MemoryStore } from '../lib/store/index.js';
import { benchArgs } from './args.js';

interface Timing {
  totalMs: number;
  p50Ms: number;
  p99Ms: number;
}

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i]!;
}

const round = (n: number, d = 1) => Math.round(n * 10 ** d) / 10 ** d;

function timing(readyAt: readonly number[], start: number): Timing {
  const lat = readyAt.map((t) => t - start).sort((a, b) => a - b);
  return {
    totalMs: round(lat[lat.length - 1] ?? Number.NaN),
    p50Ms: round(quantile(lat, 0.5)),
    p99Ms: round(quantile(lat, 0.99)),
  };
}

function setup(instances: number, hosts: number, warmPerHost: number, seed: number) {
  const clock = new VirtualClock(Date.UTC(2026, 0, 1));
  const hostNames = Array.from({ length: hosts }, (_, i) => `sim-host-${String(i + 1).padStart(2, '0')}`);
  const loaded = parseConfig(
    {
      providers: {
        sim: {
          kind: 'sim',
          hosts: hostNames,
          capacityPerHost: Math.ceil((instances * 2) / hosts) + 10,
          seed,
        },
      },
      pools: [
        {
          name: 'bench',
          provider: 'sim',
          template: { params: { image: 'ubuntu-22.04', flavor: 'm1.small' } },
          warm: {
            state: 'paused',
            perHost: { min: 0, target: warmPerHost, max: Math.max(warmPerHost, 1) },
            hosts: hostNames,
          },
          active: { min: 0, max: instances },
          capacity: { metric: 'load', perInstance: 1 },
          promotion: { concurrency: 64 },
          refill: { concurrency: 64, maxLaunchesPerHost: 64, bootTimeoutSeconds: 7200 },
        },
      ],
    },
    'bench',
  );
  const provider = new SimCloud({
    clock,
    hosts: hostNames.map((name) => ({ name, capacity: Math.ceil((instances * 2) / hosts) + 10 })),
    seed,
  });
  const ctx: PoolContext = {
    spec: loaded.pools[0]!,
    provider,
    store: new MemoryStore(clock),
    clock,
    events: new MemoryEventSink(),
    log: silentLogger(),
    owner: 'bench',
  };
  return { clock, ctx };
}

async function warmRun(instances: number, hosts: number, seed: number) {
  const { clock, ctx } = setup(instances, hosts, Math.ceil(instances / hosts), seed);
  const filled = await clock.run(() => refill(ctx));
  if (filled.warm.length < instances)
    throw new Error(`refill made ${filled.warm.length} warm of ${instances}`);
  const start = clock.now();
  const r = await clock.run(() => promote(ctx, instances, { coldLaunch: false, reason: 'bench' }));
  if (r.promoted.length !== instances) throw new Error(`promoted ${r.promoted.length} of ${instances}`);
  return {
    timing: timing(
      r.ready.map((x) => x.at),
      start,
    ),
    overheadMs: r.overheadMs,
  };
}

async function coldRun(instances: number, hosts: number, seed: number) {
  const { clock, ctx } = setup(instances, hosts, 0, seed);
  const start = clock.now();
  const r = await clock.run(() => promote(ctx, instances, { reason: 'bench' }));
  if (r.launched.length !== instances) throw new Error(`launched ${r.launched.length} of ${instances}`);
  return timing(
    r.ready.map((x) => x.at),
    start,
  );
}

async function main(): Promise<void> {
  const {
    json,
    ints: { instances, hosts, runs, seed },
  } = benchArgs('bench:promote', {
    instances: { default: 100 },
    hosts: { default: 10 },
    runs: { default: 5 },
    seed: { default: 1, min: 0 },
  });
  const progress = (msg: string) => {
    if (!json) process.stderr.write(`${msg}\n`);
  };

  // Warm runs repeat to steady the wall-clock overhead figure; the median run is reported.
  const warm: Awaited<ReturnType<typeof warmRun>>[] = [];
  for (let i = 0; i < runs; i++) {
    warm.push(await warmRun(instances, hosts, seed + i));
    progress(
      `warm run ${i + 1}/${runs}: all serving after ${warm[i]!.timing.totalMs} ms, overhead ${round(warm[i]!.overheadMs, 2)} ms`,
    );
  }
  warm.sort((a, b) => a.overheadMs - b.overheadMs);
  const median = warm[Math.floor(warm.length / 2)]!;
  const cold = await coldRun(instances, hosts, seed);
  progress(`cold run: all serving after ${cold.totalMs} ms`);

  const result = {
    instances,
    hosts,
    warm: median.timing,
    cold,
    speedup: round(cold.totalMs / median.timing.totalMs),
    controllerOverheadMs: round(median.overheadMs, 2),
    runs,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

await main();
