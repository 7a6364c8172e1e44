/**
 * The burst reserve: how much demand may rise within a horizon, learnt from how much it did rise. For each
 * point at t the rise is value(t) − min(level in [t − H, t)), at least 0, where the level is the last value
 * (alpha 1, the default) or its EWMA; a min deque over the horizon gives the minimum in O(1) amortised. The
 * rises go into a decayed histogram (half-life: 3 days by default), so a high quantile of them follows a
 * changing workload. The peak over the horizon is the current level plus a quantile of the rises: the median
 * for the point, q for the upper bound.
 *
 * Why the sliding minimum: the peak over (t, t + H] less the level at t is, for every later point s, bounded
 * by s's rise over its own past horizon (t lies in [s − H, s)), and for noise as likely up as down the two
 * have the same distribution; so the q-quantile of the rises is the q-quantile of what a pool holding today's
 * level falls short by. No trend, no season: the reserve a pool needs against what it cannot predict.
 *
 * State: level, last time, the min deque (at most WINDOW_SLOTS entries, one per point within the horizon at
 * the usual spacings) and the histogram (80 numbers).
 */
import {
  checkRange,
  cleanValue,
  commonParams,
  isFiniteNumber,
  isHistogram,
  isRecord,
  isWindow,
  spreadScale,
} from './common.js';
import {
  type DecayedHistogram,
  emptyHistogram,
  type HistogramParams,
  histogramAdd,
  histogramQuantile,
} from './histogram.js';
import type { Forecaster, ForecastOptions, PeakForecast } from './types.js';
import { emptyWindow, firstKept, slideWindow, type TimeWindow, WINDOW_SLOTS } from './window.js';

export interface BurstState {
  kind: 'burst';
  /** Points folded in; 0 for the empty state. */
  n: number;
  /** Time (ms) of the last point. */
  t: number;
  /** Current demand: the last value, or its EWMA when alpha < 1. */
  level: number;
  /** Min deque of the levels within the horizon up to the last point. */
  window: TimeWindow;
  /** Decayed histogram of the rises. */
  rises: DecayedHistogram;
}

/** The options burst reads, with their defaults. */
export interface BurstParams extends HistogramParams {
  /** The horizon the rises are measured over (ms). Default 5 min. */
  horizonMs: number;
  /**
   * Smoothing of the level per point: 1 (the default) takes the last value; lower smooths noise out of the
   * level the rises are measured from and added to.
   */
  alpha: number;
}

export function burstParams(o: ForecastOptions = {}): BurstParams {
  const common = commonParams(o);
  return {
    horizonMs: common.horizonMs,
    halfLifeMs: common.halfLifeMs,
    resolution: common.resolution,
    alpha: checkRange('alpha', o.alpha ?? 1, { above: 0, max: 1 }),
  };
}

/**
 * The burst reserve as a `Forecaster` (see the module header).
 *
 * @example
 * const f = burstForecaster({ horizonMs: 300_000, halfLifeMs: 3 * 86_400_000 });
 * let s = f.initial();
 * for (const [t, v] of points) s = f.update(s, v, t);
 * const { upper } = f.peak(s, Date.now(), 300_000, 0.995); // hold this much from now until a refill lands
 */
export function burstForecaster(options: ForecastOptions = {}): Forecaster<BurstState> {
  const p = burstParams(options);
  const slot = p.horizonMs / WINDOW_SLOTS;
  const initial = (): BurstState => ({
    kind: 'burst',
    n: 0,
    t: 0,
    level: 0,
    window: emptyWindow(),
    rises: emptyHistogram(),
  });
  return {
    kind: 'burst',
    initial,
    update(s, value, t) {
      const x = cleanValue(value, t);
      if (x === undefined) return s;
      if (s.n === 0) {
        return { ...s, n: 1, t, level: x, window: { t: [t], v: [x] } };
      }
      const level = p.alpha * x + (1 - p.alpha) * s.level;
      // Same instant (or late): it has no past horizon of its own to rise over.
      if (t <= s.t) return { ...s, n: s.n + 1, level };
      const from = firstKept(s.window, t - p.horizonMs, false);
      // A gap longer than the horizon leaves nothing to rise from: no rise is learnt across it.
      const rises =
        from < s.window.v.length ? histogramAdd(s.rises, Math.max(0, x - s.window.v[from]!), t, p) : s.rises;
      const window = slideWindow(s.window, from, t, level, 'min', slot);
      return { kind: 'burst', n: s.n + 1, t, level, window, rises };
    },
    peak(s, now, horizonMs, q): PeakForecast {
      if (s.n === 0) return { point: 0, upper: 0 };
      const scale = spreadScale(s.t, now, horizonMs, p.horizonMs);
      const median = histogramQuantile(s.rises, 0.5, 'interpolate', p) ?? 0;
      const high = histogramQuantile(s.rises, q, 'upper', p) ?? 0;
      const point = s.level + median * scale;
      return { point, upper: Math.max(point, s.level + high * scale) };
    },
    restore(stored) {
      const ok =
        isRecord(stored) &&
        stored.kind === 'burst' &&
        [stored.n, stored.t, stored.level].every(isFiniteNumber) &&
        isWindow(stored.window) &&
        isHistogram(stored.rises);
      return ok ? (stored as unknown as BurstState) : initial();
    },
  };
}
