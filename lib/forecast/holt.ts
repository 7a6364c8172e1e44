/**
 * Holt's linear method (level and trend) over irregularly spaced points: O(1) work and memory per point,
 * pure functions over a small state, so the state can live in the store between stateless invocations.
 *
 * `holtForecaster` wraps it as a `Forecaster`: the peak over a horizon is the level-and-trend line's highest
 * point, and its upper bound comes from the measured shortfalls of past peak estimates (see spread.ts).
 */
import {
  checkRange,
  cleanValue,
  commonParams,
  HOUR_MS,
  isFiniteNumber,
  isRecord,
  isSpread,
  spreadScale,
} from './common.js';
import { histogramQuantile } from './histogram.js';
import { emptySpread, type PeakSpread, type SpreadParams, spreadObserve } from './spread.js';
import type { Forecaster, ForecastOptions, PeakForecast } from './types.js';

export interface HoltState {
  level: number;
  /** Change of the level per second. */
  trend: number;
  /** Clock time (ms) of the last point. */
  t: number;
}

export interface HoltParams {
  /** Smoothing of the level, 0..1: higher follows the data faster. */
  alpha: number;
  /** Smoothing of the trend, 0..1. */
  beta: number;
  /**
   * Extrapolate the trend over at most this much of a gap between points (ms); unset, over all of it. An old
   * trend carried across hours of silence means nothing.
   */
  maxGapMs?: number;
}

/**
 * Folds one observation into the state.
 *
 * @example
 * let s = holtUpdate(undefined, 10, 0, { alpha: 0.5, beta: 0.3 });
 * s = holtUpdate(s, 12, 1000, { alpha: 0.5, beta: 0.3 });
 */
export function holtUpdate(state: HoltState | undefined, x: number, t: number, p: HoltParams): HoltState {
  if (!state) return { level: x, trend: 0, t };
  const dt = (t - state.t) / 1000;
  if (dt <= 0) {
    // Same instant: refine the level only.
    return { ...state, level: p.alpha * x + (1 - p.alpha) * state.level };
  }
  const lead = p.maxGapMs === undefined ? dt : Math.min(dt, p.maxGapMs / 1000);
  const predicted = state.level + state.trend * lead;
  const level = p.alpha * x + (1 - p.alpha) * predicted;
  const trend = p.beta * ((level - state.level) / dt) + (1 - p.beta) * state.trend;
  return { level, trend, t };
}

/** The point forecast `horizonMs` after the last observation. */
export function holtForecast(state: HoltState, horizonMs: number): number {
  return state.level + state.trend * (horizonMs / 1000);
}

/** The forecaster's state: Holt's level and trend, and the spread of its peak estimates. */
export interface HoltForecastState {
  kind: 'holt';
  /** Points folded in; 0 for the empty state. */
  n: number;
  level: number;
  /** Change of the level per second. */
  trend: number;
  /** Clock time (ms) of the last point. */
  t: number;
  spread: PeakSpread;
}

/** The options holt reads, with their defaults. */
export interface HoltForecastParams extends SpreadParams {
  /** Smoothing of the level per point. Default 0.5. */
  alpha: number;
  /** Smoothing of the trend per point. Default 0.3. */
  beta: number;
  /** Extrapolate the trend at most this far (ms). Default 1 h. */
  maxGapMs: number;
}

export function holtForecastParams(o: ForecastOptions = {}): HoltForecastParams {
  const common = commonParams(o);
  return {
    horizonMs: common.horizonMs,
    halfLifeMs: common.halfLifeMs,
    resolution: common.resolution,
    alpha: checkRange('alpha', o.alpha ?? 0.5, { above: 0, max: 1 }),
    beta: checkRange('beta', o.beta ?? 0.3, { min: 0, max: 1 }),
    maxGapMs: checkRange('maxGapMs', o.maxGapMs ?? HOUR_MS, { min: 0 }),
  };
}

/** The level-and-trend line at time `at`, the trend extrapolated at most `maxGapMs` past the last point. */
function lineAt(s: HoltForecastState, at: number, maxGapMs: number): number {
  return s.level + (s.trend * Math.min(Math.max(0, at - s.t), maxGapMs)) / 1000;
}

/** The line's highest point over (now, now + horizonMs]: it is straight, so one of the two ends. */
function peakPoint(s: HoltForecastState, now: number, horizonMs: number, p: HoltForecastParams): number {
  if (s.n === 0) return 0;
  const from = Math.max(now, s.t);
  return Math.max(0, lineAt(s, from, p.maxGapMs), lineAt(s, from + Math.max(0, horizonMs), p.maxGapMs));
}

/**
 * Holt's level and trend as a `Forecaster`. Upper bound: the point plus the q-quantile of the shortfalls
 * of past peak estimates over the configured horizon (exact errors, not a normal approximation).
 *
 * @example
 * const f = holtForecaster({ horizonMs: 300_000 });
 * let s = f.initial();
 * for (const [t, v] of points) s = f.update(s, v, t);
 * const { point, upper } = f.peak(s, Date.now(), 300_000, 0.995);
 */
export function holtForecaster(options: ForecastOptions = {}): Forecaster<HoltForecastState> {
  const p = holtForecastParams(options);
  const initial = (): HoltForecastState => ({
    kind: 'holt',
    n: 0,
    level: 0,
    trend: 0,
    t: 0,
    spread: emptySpread(),
  });
  return {
    kind: 'holt',
    initial,
    update(s, value, t) {
      const x = cleanValue(value, t);
      if (x === undefined) return s;
      const h = holtUpdate(s.n === 0 ? undefined : s, x, t, p);
      const next: HoltForecastState = {
        kind: 'holt',
        n: s.n + 1,
        level: h.level,
        trend: h.trend,
        t: h.t,
        spread: s.spread,
      };
      // A point at or before the last one only refines the level; the spread learns from time moving on.
      if (s.n === 0 || t > s.t) {
        next.spread = spreadObserve(s.spread, x, t, peakPoint(next, t, p.horizonMs, p), p);
      }
      return next;
    },
    peak(s, now, horizonMs, q): PeakForecast {
      const point = peakPoint(s, now, horizonMs, p);
      const shortfall = histogramQuantile(s.spread.shortfalls, q, 'upper', p) ?? 0;
      return { point, upper: point + shortfall * spreadScale(s.t, now, horizonMs, p.horizonMs) };
    },
    restore(stored) {
      const ok =
        isRecord(stored) &&
        stored.kind === 'holt' &&
        [stored.n, stored.level, stored.trend, stored.t].every(isFiniteNumber) &&
        isSpread(stored.spread);
      return ok ? (stored as unknown as HoltForecastState) : initial();
    },
  };
}
