/**
 * The synthetic metric stream of the embedded default: for each pool a demand that idles, ramps, bursts
 * and decays over one period, so a new user sees the warm pool absorb a burst without any metrics source.
 */
import type { PoolSpec } from '../domain/index.js';
import type { MetricSample } from './metric.js';

/** Demand in instances at phase `p` (0..1) of the period: the shape, before scaling to a pool. */
export function syntheticShape(p: number): number {
  const x = ((p % 1) + 1) % 1;
  if (x < 0.15) return 0.1; // idle
  if (x < 0.45) return 0.1 + ((x - 0.15) / 0.3) * 0.25; // ramp to 35 %
  if (x < 0.5) return 0.35;
  if (x < 0.6) return 0.8; // burst: +45 % at once
  if (x < 0.85) return 0.8 - ((x - 0.6) / 0.25) * 0.7; // decay
  return 0.1;
}

/**
 * One sample per pool at clock time `now`: demand between the pool's minimum and a peak that its warm pool
 * plus a few cold launches can serve, as metric units (instances × value per instance, 90 % loaded).
 */
export function syntheticSamples(
  pools: readonly PoolSpec[],
  now: number,
  periodMs: number,
  origin = 0,
): MetricSample[] {
  return pools.map((spec) => {
    const warmMax = spec.hosts.reduce((n, h) => n + h.target, 0);
    const peak = Math.min(spec.bounds.maxActive, spec.bounds.minActive + Math.ceil(warmMax * 1.6));
    const phase = (now - origin) / periodMs;
    const instances = spec.bounds.minActive + (syntheticShape(phase) * (peak - spec.bounds.minActive)) / 0.8;
    return {
      pool: spec.name,
      metric: spec.capacity.metric,
      value: Math.max(0, instances) * spec.capacity.perInstance * 0.9,
      ts: now,
    };
  });
}
