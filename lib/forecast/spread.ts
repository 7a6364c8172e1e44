/**
 * The empirical spread of a peak forecast, for the level-and-trend forecasters (holt, holt-winters). At each
 * point the forecaster's peak estimate over (t, t + H] is put aside; once the horizon has passed, the
 * realised peak (the highest point seen in that span, from a max deque) is compared with it, and the
 * shortfall max(0, realised − estimate) goes into a decayed histogram. The upper bound at q is then the
 * estimate plus the q-quantile of the shortfalls: no assumption on the shape of the errors, and it measures
 * exactly what the pool needs (the peak over the horizon, not a one-step error). Only shortfalls are kept
 * because a bound at q ≥ 0.5 never sits below the estimate: the q-quantile of max(0, e) is max(0, q-quantile
 * of e).
 *
 * State: the estimates awaiting their horizon (one per point, at most WINDOW_SLOTS per horizon), a max deque
 * over the same span, and the histogram (80 numbers).
 */
import { type DecayedHistogram, emptyHistogram, type HistogramParams, histogramAdd } from './histogram.js';
import { emptyWindow, firstKept, slideWindow, type TimeWindow, WINDOW_SLOTS } from './window.js';

export interface PeakSpread {
  /** Times (ms) of the estimates awaiting their horizon, ascending. */
  pendingT: number[];
  /** The peak estimates made at those times. */
  pendingPeak: number[];
  /** Max deque of the points since the oldest pending estimate. */
  recent: TimeWindow;
  /** Decayed histogram of the shortfalls. */
  shortfalls: DecayedHistogram;
}

export interface SpreadParams extends HistogramParams {
  horizonMs: number;
}

export function emptySpread(): PeakSpread {
  return { pendingT: [], pendingPeak: [], recent: emptyWindow(), shortfalls: emptyHistogram() };
}

/**
 * Scores the estimates whose horizon has passed with the point (x, t), then puts aside `peakAtT`, the
 * estimate of the peak over (t, t + horizon] made with the point folded in. `t` must move forward.
 */
export function spreadObserve(
  s: PeakSpread,
  x: number,
  t: number,
  peakAtT: number,
  p: SpreadParams,
): PeakSpread {
  const { pendingT, pendingPeak } = s;
  let shortfalls = s.shortfalls;
  let scored = 0;
  // Horizons that ended before t are scored without this point: every point kept after t0 is within
  // (t0, t0 + H], since a point after t0 + H would have scored the estimate already. No point there (a gap):
  // nothing to learn from the estimate.
  let recent = s.recent;
  let from = 0;
  while (scored < pendingT.length && pendingT[scored]! + p.horizonMs < t) {
    from = Math.max(from, firstKept(recent, pendingT[scored]!, true));
    if (from < recent.v.length) {
      shortfalls = histogramAdd(shortfalls, Math.max(0, recent.v[from]! - pendingPeak[scored]!), t, p);
    }
    scored++;
  }
  // Then the ones ending at t, with it.
  recent = slideWindow(recent, from, t, x, 'max', p.horizonMs / WINDOW_SLOTS);
  from = 0;
  while (scored < pendingT.length && pendingT[scored]! + p.horizonMs <= t) {
    from = Math.max(from, firstKept(recent, pendingT[scored]!, true));
    shortfalls = histogramAdd(shortfalls, Math.max(0, recent.v[from]! - pendingPeak[scored]!), t, p);
    scored++;
  }
  if (from > 0) recent = { t: recent.t.slice(from), v: recent.v.slice(from) };
  const lastT = pendingT[pendingT.length - 1];
  const keep = lastT === undefined || t - lastT >= p.horizonMs / WINDOW_SLOTS;
  const nextT = pendingT.slice(scored);
  const nextPeak = pendingPeak.slice(scored);
  if (keep) {
    nextT.push(t);
    nextPeak.push(peakAtT);
  }
  return { pendingT: nextT, pendingPeak: nextPeak, recent, shortfalls };
}
