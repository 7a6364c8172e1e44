/** Helpers shared by the forecasters: option checks, input cleaning, the horizon scaling, shape guards. */
import { isBlocks } from './blocks.js';
import { HISTOGRAM_BINS } from './histogram.js';
import type { PeakSpread } from './spread.js';
import { type ForecastOptions, ForecastSpecError } from './types.js';
import type { TimeWindow } from './window.js';

export const SECOND_MS = 1_000;
export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;

/** `value` if it lies within the bounds, else a ForecastSpecError naming the field. */
export function checkRange(
  field: string,
  value: number,
  bounds: { min?: number; above?: number; max?: number },
): number {
  const { min, above, max } = bounds;
  const ok =
    Number.isFinite(value) &&
    (min === undefined || value >= min) &&
    (above === undefined || value > above) &&
    (max === undefined || value <= max);
  if (!ok) {
    const parts = [
      ...(above !== undefined ? [`> ${above}`] : []),
      ...(min !== undefined ? [`>= ${min}`] : []),
      ...(max !== undefined ? [`<= ${max}`] : []),
    ];
    throw new ForecastSpecError(`forecast.${field}: must be a number ${parts.join(' and ')} (got ${value})`);
  }
  return value;
}

/** The options every kind reads, checked and with their defaults. */
export interface CommonParams {
  horizonMs: number;
  intervalMs: number;
  halfLifeMs: number;
  resolution: number;
}

export function commonParams(o: ForecastOptions): CommonParams {
  return {
    horizonMs: checkRange('horizonMs', o.horizonMs ?? 5 * MINUTE_MS, { above: 0 }),
    intervalMs: checkRange('intervalMs', o.intervalMs ?? 10 * SECOND_MS, { above: 0 }),
    halfLifeMs: checkRange('halfLifeMs', o.halfLifeMs ?? 3 * DAY_MS, { above: 0 }),
    resolution: checkRange('resolution', o.resolution ?? 0.1, { above: 0 }),
  };
}

/** A demand value fit to learn from (≥ 0), or undefined for NaN and ±Infinity in the value or the time. */
export function cleanValue(value: number, t: number): number | undefined {
  return Number.isFinite(value) && Number.isFinite(t) ? Math.max(0, value) : undefined;
}

/**
 * How much the spread learnt for `learntMs` widens for a forecast made at `now` over `horizonMs`, the last
 * point being at `lastT`: sqrt of the ratio of the spans, the growth of a random walk's spread. 1 for the
 * learnt horizon asked right at the last point.
 */
export function spreadScale(lastT: number, now: number, horizonMs: number, learntMs: number): number {
  const span = Math.max(now, lastT) + Math.max(0, horizonMs) - lastT;
  return Math.sqrt(span / learntMs);
}

// Shape guards for `restore`: a stored state is only continued when every part has the expected shape.

export function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

export function isFiniteNumber(x: unknown): x is number {
  return typeof x === 'number' && Number.isFinite(x);
}

export function isNumberArray(x: unknown, lengths?: readonly number[]): x is number[] {
  return Array.isArray(x) && (lengths === undefined || lengths.includes(x.length)) && x.every(isFiniteNumber);
}

export function isWindow(x: unknown): x is TimeWindow {
  return isRecord(x) && isNumberArray(x.t) && isNumberArray(x.v) && x.t.length === x.v.length;
}

export function isHistogram(x: unknown): boolean {
  return isRecord(x) && isFiniteNumber(x.ref) && isBlocks(x.counts, HISTOGRAM_BINS);
}

export function isSpread(x: unknown): x is PeakSpread {
  return (
    isRecord(x) &&
    isNumberArray(x.pendingT) &&
    isNumberArray(x.pendingPeak) &&
    x.pendingT.length === x.pendingPeak.length &&
    isWindow(x.recent) &&
    isHistogram(x.shortfalls)
  );
}
