/**
 * One simulated run: a demand trace replayed on the virtual clock through the real controller, the real pool
 * operations and the in-memory store, on the sim cloud. The trace sets demand (instances) at the start of
 * each row; the controller gets it as a metric sample, decides at once on a rise (as it does on a burst),
 * and also decides at each row's start and one lead time before it, which is when a warm target for the row
 * can still land in time. Nothing else is simulated: what the controller does is what warmpool does.
 */
import { VirtualClock } from '../clock/index.js';
import { Controller } from '../controller/index.js';
import type { PoolSpec } from '../domain/index.js';
import type { EventSink, PoolEvent } from '../events/index.js';
import { silentLogger } from '../log/index.js';
import type { WarmPolicy } from '../policy/index.js';
import { type LatencyModel, SimCloud } from '../providers/sim/index.js';
import { MemoryStore } from '../store/index.js';
import { type Measured, Meter } from './meter.js';
import { ObservedStore } from './observe.js';

export const SIM_METRIC = 'demand';
export const SIM_PROVIDER = 'sim';

export interface SimCloudSpec {
  hosts: readonly { name: string; capacity: number }[];
  latency?: Partial<LatencyModel>;
  seed: number;
}

export interface RunInput {
  /** Demand in instances, one value per row. */
  demand: Int32Array;
  stepMs: number;
  /** The pool as the policy runs it; its metric is `demand`, one instance per unit. */
  spec: PoolSpec;
  cloud: SimCloudSpec;
  /** Replaces the spec's forecast (the clairvoyant baseline). */
  warmPolicy?: (spec: PoolSpec) => WarmPolicy;
  /** Measurement starts here (ms of trace time): the warm-up before it fills the pool and trains forecasts. */
  measureFromMs: number;
  /** Plot series: one sample every `sampleEvery` rows (0: none). */
  sampleEvery?: number;
  /** Called with the share of the trace done, at most every 1 %. */
  onProgress?: (done: number) => void;
}

export interface Series {
  t: Float64Array;
  demand: Int32Array;
  active: Int32Array;
  warm: Int32Array;
}

export interface RunResult extends Measured {
  apiCalls: number;
  series?: Series;
}

export async function runTrace(input: RunInput): Promise<RunResult> {
  const { demand, stepMs, spec } = input;
  const clock = new VirtualClock(0);
  const cloud = new SimCloud({ clock, ...input.cloud });
  const meter = new Meter(input.measureFromMs);
  const store = new ObservedStore(new MemoryStore(clock), (from, to) => meter.change(from, to, clock.now()));
  const events: EventSink = {
    emit(e: PoolEvent) {
      if (e.type !== 'promoted') return;
      const d = e.data as { warmHits: number; coldMisses: number; overLimit: number };
      meter.promoted(d.warmHits, d.coldMisses + d.overLimit, e.time);
    },
  };
  const controller = new Controller({
    pools: [spec],
    providers: new Map([[SIM_PROVIDER, cloud]]),
    store,
    clock,
    events,
    log: silentLogger(),
    ...(input.warmPolicy ? { warmPolicy: input.warmPolicy } : {}),
  });

  const every = input.sampleEvery ?? 0;
  const samples = every > 0 ? Math.ceil(demand.length / every) : 0;
  const series: Series = {
    t: new Float64Array(samples),
    demand: new Int32Array(samples),
    active: new Int32Array(samples),
    warm: new Int32Array(samples),
  };
  const lead = spec.forecast.horizonMs;
  let callsAtStart = 0;
  const progressStep = Math.max(1, Math.floor(demand.length / 100));

  await clock.run(async () => {
    const until = (t: number) => (t > clock.now() ? clock.sleep(t - clock.now()) : Promise.resolve());
    for (let i = 0; i < demand.length; i++) {
      const t = i * stepMs;
      // One lead time before the row: the last moment a warm target for it can still land in time.
      const early = t - lead;
      if (lead > 0 && early > t - stepMs && early > 0) {
        await until(early);
        await controller.tick();
      }
      await until(t);
      if (t >= input.measureFromMs && callsAtStart === 0) callsAtStart = cloud.stats().total || -1;
      if (every > 0 && i % every === 0) {
        const k = i / every;
        const s = meter.sample();
        series.t[k] = t;
        series.active[k] = s.active;
        series.warm[k] = s.warm;
        series.demand[k] = demand[i]!;
      }
      meter.setDemand(demand[i]!, t);
      await controller.ingest([{ pool: spec.name, metric: SIM_METRIC, value: demand[i]!, ts: t }]);
      await controller.tick();
      if (input.onProgress && i % progressStep === 0) input.onProgress(i / demand.length);
    }
    await until(demand.length * stepMs);
    await controller.stop();
  });
  const measured = meter.finish(demand.length * stepMs);
  input.onProgress?.(1);
  return {
    ...measured,
    apiCalls: cloud.stats().total - Math.max(0, callsAtStart),
    ...(every > 0 ? { series } : {}),
  };
}
