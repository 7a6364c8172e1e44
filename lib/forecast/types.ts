/**
 * The common face of the demand forecasters. A forecaster is a bundle of pure functions over a small,
 * JSON-serialisable state (plain numbers and arrays, no classes, no Maps): the state lives in the store
 * between stateless invocations, and `JSON.parse(JSON.stringify(state))` continues exactly where it left off.
 */

export type ForecastKind = 'holt' | 'holt-winters' | 'burst';

/** The highest demand expected over a horizon: a point estimate and an upper bound at a quantile. */
export interface PeakForecast {
  /** Point estimate of the highest demand over the horizon (instances, ≥ 0). */
  point: number;
  /** Upper bound at the requested quantile q (≥ point). */
  upper: number;
}

export interface Forecaster<S> {
  readonly kind: ForecastKind;
  /** The empty state: no point seen yet. */
  initial(): S;
  /**
   * Folds one observation into the state and returns the new state; the input is never modified. `value` is
   * demand in instances (negative values count as 0; NaN or ±Infinity, in value or t, are ignored), `t` the
   * clock time in ms. Points should come in time order; a point at or before the last one only refines the
   * level. Constant work per point (amortised; holt-winters adds O(horizon / binMs)).
   */
  update(state: S, value: number, t: number): S;
  /**
   * The highest demand expected over (now, now + horizonMs] (now ≥ the last point's t; an earlier now is
   * taken as that t): a point estimate and the upper bound at quantile q (e.g. 0.995). The spread is learnt
   * for the configured `horizonMs`; another horizon, or a state gone stale, scales it by
   * sqrt((now + horizonMs − last t) / configured horizon), the growth of a random walk.
   */
  peak(state: S, now: number, horizonMs: number, q: number): PeakForecast;
  /**
   * `stored` if it is a state of this forecaster with the same shape (kind, bins), else `initial()`: what to
   * call on a state read back from the store, which may predate a change of the forecast config.
   */
  restore(stored: unknown): S;
}

/**
 * The parameters of every kind, as a flat, config-like object; each kind reads the fields it needs and
 * ignores the rest. Every field is optional; the defaults are the kind's own (see each file).
 */
export interface ForecastOptions {
  /**
   * The horizon whose spread is learnt (ms): the errors of the peak forecast (holt, holt-winters) or the rises
   * of demand (burst) over this span. Set it to the refill lead time. Default 300 000 (5 min).
   */
  horizonMs?: number;
  /** The metric interval, i.e. the usual spacing of the points (ms). Sets the default `binMs`. Default 10 000. */
  intervalMs?: number;
  /**
   * Smoothing of the level, 0 < alpha ≤ 1: higher follows the data faster. Per point for holt (default 0.5)
   * and burst (default 1: the level is the last value); per `binMs` of time for holt-winters (default 0.2).
   */
  alpha?: number;
  /**
   * Smoothing of the trend, 0..1 (holt, holt-winters). Per point for holt (default 0.3); per `binMs` of time
   * for holt-winters (default 0.005: its trend is the slow, day-over-day one, the season does the rest).
   */
  beta?: number;
  /**
   * Smoothing of the daily season (holt-winters), 0..1: the weight of the newest day in each seasonal index,
   * whatever the spacing of the points. Default 0.2.
   */
  gamma?: number;
  /** Smoothing of the weekly season (holt-winters), 0..1: the weight of the newest week. Default 0.3. */
  gammaWeek?: number;
  /** Length of the daily season (holt-winters, ms). Default 86 400 000. */
  seasonMs?: number;
  /**
   * Width of a daily seasonal bin (holt-winters, ms); the index is interpolated between bins. Default
   * max(5 min, intervalMs); rounded so that a whole number of bins makes a season.
   */
  binMs?: number;
  /** Width of a weekly seasonal bin (holt-winters, ms), rounded to divide a day. Default 1 h (168 bins). */
  weekBinMs?: number;
  /** Learn a weekly season (holt-winters). Default true. */
  weekly?: boolean;
  /** History needed before the weekly season switches on (holt-winters, ms). Default 14 seasons (2 weeks). */
  weeklyAfterMs?: number;
  /**
   * The trend is extrapolated at most this far (ms), across a gap between points or past the last point of a
   * stale state: an old trend carried over hours means nothing. Defaults: holt 1 h, holt-winters 1 day.
   */
  maxGapMs?: number;
  /**
   * Half-life of the learnt spread (ms): errors or rises this old weigh half as much as new ones, so the
   * bound adapts when the workload changes. Default 3 days.
   */
  halfLifeMs?: number;
  /**
   * The smallest error or rise told apart from 0 (instances): the first bin of the spread histogram, whose
   * bins then grow by 20 % each (80 bins, up to about 2·10⁶ × resolution). Default 0.1.
   */
  resolution?: number;
}

/** What `makeForecaster` builds from: a kind and its options. */
export interface ForecastSpec extends ForecastOptions {
  kind: ForecastKind;
}

/** A spec value outside its range; the message names the field. */
export class ForecastSpecError extends RangeError {
  override readonly name = 'ForecastSpecError';
}
