/**
 * Holt's linear method (level and trend) over irregularly spaced points: O(1) work and memory per point,
 * pure functions over a small state, so the state can live in the store between stateless invocations.
 */
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
  const predicted = state.level + state.trend * dt;
  const level = p.alpha * x + (1 - p.alpha) * predicted;
  const trend = p.beta * ((level - state.level) / dt) + (1 - p.beta) * state.trend;
  return { level, trend, t };
}

/** The point forecast `horizonMs` after the last observation. */
export function holtForecast(state: HoltState, horizonMs: number): number {
  return state.level + state.trend * (horizonMs / 1000);
}
