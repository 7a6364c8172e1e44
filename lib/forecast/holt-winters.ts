/**
 * Additive Holt-Winters over irregularly spaced points, with a daily season and, after two weeks, a weekly
 * one. Demand = level + trend·dt + daily(t) + weekly(t). Each season is a set of knots on a fixed grid of the
 * clock (288 of 5 min a day, 168 of 1 h a week), interpolated linearly between knots; a point updates the two
 * knots around it in proportion to its closeness.
 *
 * Warm-up, so that a trend is not mistaken for a season:
 * - The first day (and two bins): plain Holt (seasonal indices 0) while the points are summed per daily knot.
 * - At the first point a day and two bins after the start the daily season switches on. One day cannot tell
 *   a trend from a daily shape, so the trend is the day-over-day change at this point's phase (against the
 *   first day's knots around it); the first day's knot means, detrended with it and centred, are the
 *   seasonal indices, and the level is the detrended day mean carried to now. Then the usual recursions.
 *   If fewer than half the knots saw a point (a long gap), the warm-up starts again.
 * - Weekly: the points are summed per weekly knot, with their times, from the start; after `weeklyAfterMs`
 *   (two weeks) the trend is refitted as the slope common to all knots (the week-over-week change), and the
 *   knot means detrended with it are the weekly indices. Until then the weekly season is neutral: the
 *   forecasts are those of a daily-only model. The weekly index used is always the knot's value less the
 *   mean of the seven knots of the same hour: a day-of-week deviation, which can take neither the daily
 *   shape nor the level from the other parts.
 *
 * The seasons learn against a slow level (a quarter season's EWMA), not the fast one that forecasts: see
 * `learn`.
 *
 * Smoothing is by time, not by point, so it means the same at any spacing of the points: alpha and beta are
 * weights per `binMs` (a point `dt` after the previous one updates with 1 − (1 − alpha)^(dt / binMs), which
 * also lets a point after a long gap reset the level), gamma and gammaWeek weights per pass over a knot.
 *
 * The upper bound is learnt as for holt (spread.ts): the shortfalls of past peak estimates over the horizon.
 *
 * State (defaults): 288 daily knots, 168 weekly knots and 24 hour means, in blocks of 24 (blocks.ts), and a
 * few numbers; during the warm-up also 288 daily weights and 2 × 168 + 2 weekly sums; plus the spread (an
 * 80-bin histogram and two entries per point within the horizon: about 200 numbers at 10 s points and a 5 min
 * horizon). Work per point: O(1), plus O(horizon / binMs) for the peak estimate the spread is learnt from.
 */
import { type Blocks, blockAdd, blockGet, fromFlat, isBlocks, toFlat, zeroBlocks } from './blocks.js';
import {
  checkRange,
  cleanValue,
  commonParams,
  DAY_MS,
  HOUR_MS,
  isFiniteNumber,
  isNumberArray,
  isRecord,
  isSpread,
  MINUTE_MS,
  spreadScale,
} from './common.js';
import { histogramQuantile } from './histogram.js';
import { holtUpdate } from './holt.js';
import { emptySpread, type PeakSpread, type SpreadParams, spreadObserve } from './spread.js';
import type { Forecaster, ForecastOptions, PeakForecast } from './types.js';

export interface HoltWintersState {
  kind: 'holt-winters';
  /** Points folded in; 0 for the empty state. */
  n: number;
  /** Time (ms) of the first point of the warm-up. */
  start: number;
  /** Time (ms) of the last point. */
  t: number;
  /** Deseasonalised level. */
  level: number;
  /** Change of the level per second. */
  trend: number;
  /** The slow level the seasons learn against: an EWMA of the deseasonalised demand (see `learn`). */
  base: number;
  /** Daily knots: seasonal indices once the season is on; before, the sums of the points per knot. */
  daily: Blocks;
  /** Weight of the points summed per daily knot during the warm-up; [] once the season is on. */
  dailyWeight: Blocks;
  /**
   * Weekly knots: once on, the index of knot j is weekly[j] − weeklyMean[j mod binsPerDay]; before, the sums
   * of the points per knot. [] when weekly is off.
   */
  weekly: Blocks;
  /** Mean of the seven weekly knots of each hour (weeklyBinsPerDay numbers) once on; [] before. */
  weeklyMean: number[];
  /** Sums of the points' times (s since `start`) per weekly knot, before the switch; [] after. */
  weeklyTime: Blocks;
  /** Weight of the points summed per weekly knot, before the switch; [] after. */
  weeklyWeight: Blocks;
  /** Before the switch, Σ w·t·x and Σ w·t² over all weekly sums (t in s since `start`), for the trend; [] after. */
  weeklyFit: number[];
  spread: PeakSpread;
}

/** The options holt-winters reads, resolved: defaults applied, bins rounded to divide their season. */
export interface HoltWintersParams extends SpreadParams {
  /** Smoothing of the level per binMs of time (not per point, unlike holt). Default 0.2. */
  alpha: number;
  /** Smoothing of the trend per binMs of time. Default 0.005. */
  beta: number;
  /** Weight of the newest day in each daily index. Default 0.2. */
  gamma: number;
  /** Weight of the newest week in each weekly index. Default 0.3. */
  gammaWeek: number;
  /** Daily season (ms). Default 1 day. */
  seasonMs: number;
  /** Daily knots per season: seasonMs / binMs, binMs defaulting to max(5 min, intervalMs); 288 by default. */
  dailyBins: number;
  /** Spacing of the daily knots (ms): seasonMs / dailyBins. */
  binMs: number;
  /** Whether a weekly season is learnt. Default true. */
  weekly: boolean;
  /** Weekly knots per day: seasonMs / weekBinMs, weekBinMs defaulting to 1 h; 24 by default. */
  weeklyBinsPerDay: number;
  /** Spacing of the weekly knots (ms). */
  weekBinMs: number;
  /** History (ms) before the weekly season switches on. Default 14 days. */
  weeklyAfterMs: number;
  /** Extrapolate the trend at most this far (ms). Default 1 day. */
  maxGapMs: number;
}

export function holtWintersParams(o: ForecastOptions = {}): HoltWintersParams {
  const common = commonParams(o);
  const seasonMs = checkRange('seasonMs', o.seasonMs ?? DAY_MS, { above: 0 });
  const binMs = checkRange('binMs', o.binMs ?? Math.max(5 * MINUTE_MS, common.intervalMs), {
    above: 0,
    max: seasonMs,
  });
  const weekBinMs = checkRange('weekBinMs', o.weekBinMs ?? Math.min(HOUR_MS, seasonMs), {
    above: 0,
    max: seasonMs,
  });
  const dailyBins = Math.max(1, Math.round(seasonMs / binMs));
  const weeklyBinsPerDay = Math.max(1, Math.round(seasonMs / weekBinMs));
  return {
    horizonMs: common.horizonMs,
    halfLifeMs: common.halfLifeMs,
    resolution: common.resolution,
    alpha: checkRange('alpha', o.alpha ?? 0.2, { above: 0, max: 1 }),
    beta: checkRange('beta', o.beta ?? 0.005, { min: 0, max: 1 }),
    gamma: checkRange('gamma', o.gamma ?? 0.2, { min: 0, max: 1 }),
    gammaWeek: checkRange('gammaWeek', o.gammaWeek ?? 0.3, { min: 0, max: 1 }),
    seasonMs,
    dailyBins,
    binMs: seasonMs / dailyBins,
    weekly: o.weekly ?? true,
    weeklyBinsPerDay,
    weekBinMs: seasonMs / weeklyBinsPerDay,
    weeklyAfterMs: checkRange('weeklyAfterMs', o.weeklyAfterMs ?? 14 * seasonMs, { min: seasonMs }),
    maxGapMs: checkRange('maxGapMs', o.maxGapMs ?? DAY_MS, { min: 0 }),
  };
}

/**
 * Where `t` falls on a circular grid of `bins` knots spaced `binMs` apart, in knots, in [0, bins): the knot
 * before is its floor, the fraction past it the rest. (A number, not an object: this runs a dozen times a
 * point.)
 */
function knotPos(t: number, binMs: number, bins: number): number {
  const period = binMs * bins;
  const r = t % period;
  const pos = (r < 0 ? r + period : r) / binMs;
  return pos < bins ? pos : 0;
}

const nextKnot = (k: number, bins: number) => (k + 1 === bins ? 0 : k + 1);

const dailyOn = (s: HoltWintersState) => s.dailyWeight.length === 0;
const weeklyOn = (s: HoltWintersState) => s.weekly.length > 0 && s.weeklyWeight.length === 0;

function dailyAt(s: HoltWintersState, t: number, p: HoltWintersParams): number {
  if (!dailyOn(s)) return 0;
  const pos = knotPos(t, p.binMs, p.dailyBins);
  const k = Math.floor(pos);
  const f = pos - k;
  return (1 - f) * blockGet(s.daily, k) + f * blockGet(s.daily, nextKnot(k, p.dailyBins));
}

/** A weekly index: the knot less the mean of the seven knots of its hour (a day-of-week deviation). */
function weeklyIndex(s: HoltWintersState, j: number, perDay: number): number {
  return blockGet(s.weekly, j) - s.weeklyMean[j % perDay]!;
}

function weeklyAt(s: HoltWintersState, t: number, p: HoltWintersParams): number {
  if (!weeklyOn(s)) return 0;
  const perDay = p.weeklyBinsPerDay;
  const pos = knotPos(t, p.weekBinMs, 7 * perDay);
  const k = Math.floor(pos);
  const f = pos - k;
  return (1 - f) * weeklyIndex(s, k, perDay) + f * weeklyIndex(s, nextKnot(k, 7 * perDay), perDay);
}

/** Level, trend (at most maxGapMs of it) and seasons at time `at`. */
function valueAt(s: HoltWintersState, at: number, p: HoltWintersParams): number {
  const lead = Math.min(Math.max(0, at - s.t), p.maxGapMs);
  return s.level + (s.trend * lead) / 1000 + dailyAt(s, at, p) + weeklyAt(s, at, p);
}

/** Evaluations of one grid per peak at most: a horizon of weeks is strided rather than walked knot by knot. */
const MAX_STEPS = 4096;

/**
 * The highest point over (now, now + horizonMs]. The forecast is piecewise linear between knots, so its
 * maximum is at an end or at a knot of either season: O(horizon / binMs).
 */
function peakPoint(s: HoltWintersState, now: number, horizonMs: number, p: HoltWintersParams): number {
  if (s.n === 0) return 0;
  const from = Math.max(now, s.t);
  const to = from + Math.max(0, horizonMs);
  let best = Math.max(valueAt(s, from, p), valueAt(s, to, p));
  if (dailyOn(s)) best = Math.max(best, gridPeak(s, from, to, p.binMs, p));
  if (weeklyOn(s)) best = Math.max(best, gridPeak(s, from, to, p.weekBinMs, p));
  return Math.max(0, best);
}

/** The highest value at the knots of a grid strictly inside (from, to). */
function gridPeak(
  s: HoltWintersState,
  from: number,
  to: number,
  gridMs: number,
  p: HoltWintersParams,
): number {
  let best = Number.NEGATIVE_INFINITY;
  const step = Math.max(1, Math.ceil((to - from) / gridMs / MAX_STEPS));
  for (let m = Math.floor(from / gridMs) + 1; m * gridMs < to; m += step) {
    best = Math.max(best, valueAt(s, m * gridMs, p));
  }
  return best;
}

/** The state before any point, or a warm-up restarted at `start`: sums zeroed, seasons off. */
function warmUp(
  p: HoltWintersParams,
  base: Pick<HoltWintersState, 'n' | 'level' | 'trend' | 't' | 'spread'>,
  start: number,
): HoltWintersState {
  const weekBins = p.weekly ? 7 * p.weeklyBinsPerDay : 0;
  return {
    kind: 'holt-winters',
    n: base.n,
    start,
    t: base.t,
    level: base.level,
    trend: base.trend,
    base: base.level,
    daily: zeroBlocks(p.dailyBins),
    dailyWeight: zeroBlocks(p.dailyBins),
    weekly: zeroBlocks(weekBins),
    weeklyMean: [],
    weeklyTime: zeroBlocks(weekBins),
    weeklyWeight: zeroBlocks(weekBins),
    weeklyFit: weekBins > 0 ? [0, 0] : [],
    spread: base.spread,
  };
}

/**
 * Adds the point to the first day's sums: to each of its two knots, weighted by closeness, but only for the
 * knot's occurrence in [start + binMs, start + seasonMs + binMs): each of those has points on both sides
 * (the warm-up runs two bins past the day), and none mixes two days.
 */
function sumDaily(s: HoltWintersState, prev: HoltWintersState, x: number, t: number, p: HoltWintersParams) {
  const pos = knotPos(t, p.binMs, p.dailyBins);
  const k = Math.floor(pos);
  const f = pos - k;
  const first = s.start + p.binMs;
  const before = t - f * p.binMs;
  if (before >= first && before < first + p.seasonMs) {
    s.daily = blockAdd(s.daily, prev.daily, k, (1 - f) * x);
    s.dailyWeight = blockAdd(s.dailyWeight, prev.dailyWeight, k, 1 - f);
  }
  const next = nextKnot(k, p.dailyBins);
  const after = t + (1 - f) * p.binMs;
  if (f > 0 && after >= first && after < first + p.seasonMs) {
    s.daily = blockAdd(s.daily, prev.daily, next, f * x);
    s.dailyWeight = blockAdd(s.dailyWeight, prev.dailyWeight, next, f);
  }
}

function sumWeekly(s: HoltWintersState, prev: HoltWintersState, x: number, t: number, p: HoltWintersParams) {
  const bins = 7 * p.weeklyBinsPerDay;
  const pos = knotPos(t, p.weekBinMs, bins);
  const k = Math.floor(pos);
  const f = pos - k;
  const since = (t - s.start) / 1000;
  addWeeklySum(s, prev, k, 1 - f, x, since);
  if (f > 0) addWeeklySum(s, prev, nextKnot(k, bins), f, x, since);
  // Each point's weights sum to 1 over its two knots.
  s.weeklyFit = [s.weeklyFit[0]! + since * x, s.weeklyFit[1]! + since * since];
}

function addWeeklySum(
  s: HoltWintersState,
  prev: HoltWintersState,
  j: number,
  w: number,
  x: number,
  since: number,
) {
  s.weekly = blockAdd(s.weekly, prev.weekly, j, w * x);
  s.weeklyTime = blockAdd(s.weeklyTime, prev.weeklyTime, j, w * since);
  s.weeklyWeight = blockAdd(s.weeklyWeight, prev.weeklyWeight, j, w);
}

/** Knot means where a knot saw points, the others interpolated around the circle; undefined if too few saw. */
function knotMeans(sums: readonly number[], weights: readonly number[]): number[] | undefined {
  const n = sums.length;
  const filled: number[] = [];
  for (let k = 0; k < n; k++) if (weights[k]! > 1e-9) filled.push(k);
  if (filled.length * 2 < n) return undefined;
  const means = sums.map((sum, k) => sum / weights[k]!);
  for (let i = 0; i < filled.length; i++) {
    const a = filled[i]!;
    const b = filled[(i + 1) % filled.length]!;
    const span = (b - a + n) % n || n;
    for (let d = 1; d < span; d++) means[(a + d) % n] = means[a]! + ((means[b]! - means[a]!) * d) / span;
  }
  return means;
}

/**
 * Switches the daily season on at the point (x, t), a day and two bins or more after the start (see the
 * module header): both knots around t then have an occurrence a day (or more) before it. False if the first
 * day saw too few knots.
 */
function startDaily(s: HoltWintersState, x: number, t: number, p: HoltWintersParams): boolean {
  const means = knotMeans(toFlat(s.daily), toFlat(s.dailyWeight));
  if (!means) return false;
  // Seconds from the start to each knot's occurrence in the first day (see sumDaily).
  const offset = means.map((_, k) => {
    const phase = k * p.binMs - s.start - p.binMs;
    return (p.binMs + (((phase % p.seasonMs) + p.seasonMs) % p.seasonMs)) / 1000;
  });
  const since = (t - s.start) / 1000;
  // Day-over-day change at this phase; weighting the two knots by closeness cancels the seasonal slope.
  const pos = knotPos(t, p.binMs, p.dailyBins);
  const k = Math.floor(pos);
  const f = pos - k;
  const slope = (j: number) => (x - means[j]!) / (since - offset[j]!);
  const trend = (1 - f) * slope(k) + f * slope(nextKnot(k, p.dailyBins));
  let intercept = 0;
  for (let j = 0; j < p.dailyBins; j++) intercept += means[j]! - trend * offset[j]!;
  intercept /= p.dailyBins;
  s.daily = fromFlat(means.map((m, k) => m - intercept - trend * offset[k]!));
  s.dailyWeight = [];
  s.level = intercept + trend * since;
  s.base = s.level;
  s.trend = trend;
  return true;
}

/**
 * Switches the weekly season on. The trend is the slope common to all knots, each against its own mean (the
 * week-over-week change: a weekly shape cannot pass for a trend, as it does for the recursions' trend while
 * the season is off); the knot means, detrended with it, are the weekly indices (knots never seen: 0). The
 * level had been following the day-of-week deviation of the moment, which the weekly index now carries.
 */
function startWeekly(s: HoltWintersState, p: HoltWintersParams): void {
  const sums = toFlat(s.weekly);
  const times = toFlat(s.weeklyTime);
  const weights = toFlat(s.weeklyWeight);
  const seen = (j: number) => weights[j]! > 1e-9;
  let covariance = s.weeklyFit[0]!;
  let variance = s.weeklyFit[1]!;
  for (let j = 0; j < sums.length; j++) {
    if (!seen(j)) continue;
    covariance -= (times[j]! * sums[j]!) / weights[j]!;
    variance -= (times[j]! * times[j]!) / weights[j]!;
  }
  if (variance > 0) s.trend = covariance / variance;
  const detrended = sums.map((sum, j) => (seen(j) ? (sum - s.trend * times[j]!) / weights[j]! : 0));
  // A knot never seen takes its hour's mean, so that its index (knot less hour mean) comes out 0.
  const perDay = p.weeklyBinsPerDay;
  const mean = new Array<number>(perDay).fill(0);
  for (let h = 0; h < perDay; h++) {
    let sum = 0;
    let count = 0;
    for (let d = 0; d < 7; d++) {
      if (seen(d * perDay + h)) {
        sum += detrended[d * perDay + h]!;
        count++;
      }
    }
    mean[h] = count > 0 ? sum / count : 0;
    for (let d = 0; d < 7; d++) if (!seen(d * perDay + h)) detrended[d * perDay + h] = mean[h]!;
  }
  s.weekly = fromFlat(detrended);
  s.weeklyMean = mean;
  s.weeklyTime = [];
  s.weeklyWeight = [];
  s.weeklyFit = [];
  const deviation = weeklyAt(s, s.t, p);
  s.level -= deviation;
  s.base -= deviation;
}

/** Moves weekly knot j by δ, and its hour's mean (s.weeklyMean, already a copy) by δ / 7. */
function nudgeWeekly(s: HoltWintersState, prev: HoltWintersState, j: number, delta: number, perDay: number) {
  s.weekly = blockAdd(s.weekly, prev.weekly, j, delta);
  s.weeklyMean[j % perDay] = s.weeklyMean[j % perDay]! + delta / 7;
}

/** The weight of a point worth `share` bins, for a smoothing weight per bin: 1 − (1 − weight)^share. */
const perShare = (weight: number, share: number) => 1 - (1 - weight) ** share;

/**
 * One step of the recursions for a point `dtMs` after the previous one. Level and trend are Holt's on the
 * deseasonalised value, with weights per bin of time. Each season then learns from what the other season and
 * a slow level leave, not the level itself: the level follows the data within minutes (alpha 0.2 per 5 min)
 * and would otherwise soak up a change of the daily shape before the season could learn it (seen: a daily
 * amplitude doubled, and the indices still at the old one 40 days on). The slow level is an EWMA of the
 * deseasonalised value with a time constant of a quarter season, carried along the trend.
 */
function learn(
  s: HoltWintersState,
  prev: HoltWintersState,
  x: number,
  t: number,
  dtMs: number,
  p: HoltWintersParams,
): void {
  const d = dailyAt(s, t, p);
  const w = weeklyAt(s, t, p);
  const share = dtMs / p.binMs;
  const h = holtUpdate({ level: s.level, trend: s.trend, t: s.t }, x - d - w, t, {
    alpha: perShare(p.alpha, share),
    beta: perShare(p.beta, share),
    maxGapMs: p.maxGapMs,
  });
  s.level = h.level;
  s.trend = h.trend;
  // The seasons learn against the slow level, a quarter season's EWMA carried along the trend.
  const slow = 1 - Math.exp(-dtMs / (p.seasonMs / 4));
  s.base = slow * (x - d - w) + (1 - slow) * (s.base + (s.trend * Math.min(dtMs, p.maxGapMs)) / 1000);
  if (dailyOn(s) && p.gamma > 0) {
    const pos = knotPos(t, p.binMs, p.dailyBins);
    const k = Math.floor(pos);
    const f = pos - k;
    const g = perShare(p.gamma, Math.min(1, share));
    const e = x - s.base - w - d;
    s.daily = blockAdd(s.daily, prev.daily, k, g * (1 - f) * e);
    if (f > 0) s.daily = blockAdd(s.daily, prev.daily, nextKnot(k, p.dailyBins), g * f * e);
  }
  if (weeklyOn(s) && p.gammaWeek > 0) {
    const perDay = p.weeklyBinsPerDay;
    const pos = knotPos(t, p.weekBinMs, 7 * perDay);
    const k = Math.floor(pos);
    const f = pos - k;
    const g = perShare(p.gammaWeek, Math.min(1, dtMs / p.weekBinMs));
    const e = x - s.base - dailyAt(s, t, p) - w;
    // A change δ to a knot moves its index by 6δ/7 and those of the other six days at its hour by −δ/7:
    // the step projected onto "each hour's indices sum to zero".
    s.weeklyMean = s.weeklyMean.slice();
    nudgeWeekly(s, prev, k, g * (1 - f) * e, perDay);
    if (f > 0) nudgeWeekly(s, prev, nextKnot(k, 7 * perDay), g * f * e, perDay);
  }
}

/**
 * Additive Holt-Winters with daily and weekly seasons as a `Forecaster` (see the module header).
 *
 * @example
 * const f = holtWintersForecaster({ intervalMs: 60_000, horizonMs: 600_000 });
 * let s = f.initial();
 * for (const [t, v] of points) s = f.update(s, v, t);
 * const { point, upper } = f.peak(s, Date.now(), 600_000, 0.995);
 */
export function holtWintersForecaster(options: ForecastOptions = {}): Forecaster<HoltWintersState> {
  const p = holtWintersParams(options);
  const initial = (): HoltWintersState =>
    warmUp(p, { n: 0, level: 0, trend: 0, t: 0, spread: emptySpread() }, 0);
  const weekBins = p.weekly ? 7 * p.weeklyBinsPerDay : 0;

  return {
    kind: 'holt-winters',
    initial,
    update(prev, value, t) {
      const x = cleanValue(value, t);
      if (x === undefined) return prev;
      if (prev.n > 0 && t <= prev.t) {
        // Same instant (or late): refine the level only, as Holt does (with alpha as one bin's weight).
        const seasonal = dailyAt(prev, prev.t, p) + weeklyAt(prev, prev.t, p);
        return { ...prev, n: prev.n + 1, level: p.alpha * (x - seasonal) + (1 - p.alpha) * prev.level };
      }
      let s: HoltWintersState;
      // The state `s` is built on, sharing its blocks until they change (blockAdd copies on write).
      let prior: HoltWintersState;
      if (prev.n === 0) {
        s = warmUp(p, { n: 1, level: x, trend: 0, t, spread: prev.spread }, t);
        prior = { ...s };
      } else {
        s = {
          kind: 'holt-winters',
          n: prev.n + 1,
          start: prev.start,
          t: prev.t,
          level: prev.level,
          trend: prev.trend,
          base: prev.base,
          daily: prev.daily,
          dailyWeight: prev.dailyWeight,
          weekly: prev.weekly,
          weeklyMean: prev.weeklyMean,
          weeklyTime: prev.weeklyTime,
          weeklyWeight: prev.weeklyWeight,
          weeklyFit: prev.weeklyFit,
          spread: prev.spread,
        };
        prior = prev;
        let started = false;
        if (!dailyOn(s) && t >= s.start + p.seasonMs + 2 * p.binMs) {
          started = startDaily(s, x, t, p);
          if (!started) {
            s = warmUp(p, s, t);
            prior = { ...s };
          }
        }
        if (p.weekly && dailyOn(s) && !weeklyOn(s) && t >= s.start + p.weeklyAfterMs) startWeekly(s, p);
        // The point that switches the daily season on is already fitted by it (it set the trend).
        if (!started) learn(s, prior, x, t, t - prev.t, p);
        s.t = t;
      }
      if (!dailyOn(s)) sumDaily(s, prior, x, t, p);
      if (p.weekly && !weeklyOn(s)) sumWeekly(s, prior, x, t, p);
      s.spread = spreadObserve(s.spread, x, t, peakPoint(s, t, p.horizonMs, p), p);
      return s;
    },
    peak(s, now, horizonMs, q): PeakForecast {
      const point = peakPoint(s, now, horizonMs, p);
      const shortfall = histogramQuantile(s.spread.shortfalls, q, 'upper', p) ?? 0;
      return { point, upper: point + shortfall * spreadScale(s.t, now, horizonMs, p.horizonMs) };
    },
    restore(stored) {
      if (!isRecord(stored) || stored.kind !== 'holt-winters') return initial();
      const warming = Array.isArray(stored.dailyWeight) && stored.dailyWeight.length > 0;
      const weeklyWarming = Array.isArray(stored.weeklyWeight) && stored.weeklyWeight.length > 0;
      const sized = (x: unknown, on: boolean, n: number) => (on ? isBlocks(x, n) : isBlocks(x, 0));
      const ok =
        [stored.n, stored.start, stored.t, stored.level, stored.trend, stored.base].every(isFiniteNumber) &&
        isBlocks(stored.daily, p.dailyBins) &&
        sized(stored.dailyWeight, warming, p.dailyBins) &&
        isBlocks(stored.weekly, weekBins) &&
        isNumberArray(stored.weeklyMean, [weeklyWarming || weekBins === 0 ? 0 : p.weeklyBinsPerDay]) &&
        sized(stored.weeklyTime, weeklyWarming, weekBins) &&
        sized(stored.weeklyWeight, weeklyWarming, weekBins) &&
        isNumberArray(stored.weeklyFit, [weeklyWarming ? 2 : 0]) &&
        // The weekly season never comes on before the daily one.
        !(warming && weekBins > 0 && !weeklyWarming) &&
        isSpread(stored.spread);
      return ok ? (stored as unknown as HoltWintersState) : initial();
    },
  };
}
