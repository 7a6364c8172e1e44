/**
 * The parts the forecasters share, against brute force: the decayed histogram's quantiles and decay, the
 * monotonic window's sliding extremes, and the peak-shortfall tracker.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type DecayedHistogram,
  emptyHistogram,
  HISTOGRAM_BINS,
  histogramAdd,
  histogramQuantile,
} from '../../lib/forecast/histogram.js';
import { emptySpread, spreadObserve } from '../../lib/forecast/spread.js';
import { emptyWindow, firstKept, slideWindow, type TimeWindow } from '../../lib/forecast/window.js';

const HOUR = 3_600_000;
const DAY = 86_400_000;
const P = { resolution: 0.1, halfLifeMs: DAY };

/** The weighted q-quantile of (value, weight) pairs. */
function weightedQuantile(items: Array<[number, number]>, q: number): number {
  const sorted = [...items].sort((a, b) => a[0] - b[0]);
  const total = sorted.reduce((sum, [, w]) => sum + w, 0);
  let cumulative = 0;
  for (const [v, w] of sorted) {
    cumulative += w;
    if (cumulative >= q * total * (1 - 1e-12)) return v;
  }
  return sorted.at(-1)![0];
}

describe('decayed histogram', () => {
  it('bounds the sample quantile from above, by at most one 20 % bin', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.constant(0), fc.double({ min: 0, max: 1e4, noNaN: true })), { minLength: 1 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (values, q) => {
          let h = emptyHistogram();
          for (const v of values) h = histogramAdd(h, v, 0, P);
          const exact = weightedQuantile(
            values.map((v) => [v, 1]),
            q,
          );
          const upper = histogramQuantile(h, q, 'upper', P)!;
          const central = histogramQuantile(h, q, 'interpolate', P)!;
          expect(upper).toBeGreaterThanOrEqual(exact);
          expect(upper).toBeLessThanOrEqual(Math.max(1.2 * exact, P.resolution) * (1 + 1e-9));
          expect(central).toBeLessThanOrEqual(upper);
        },
      ),
    );
  });

  it('is empty until a value comes, and holds exact zeros apart', () => {
    expect(histogramQuantile(emptyHistogram(), 0.5, 'upper', P)).toBeUndefined();
    let h = emptyHistogram();
    for (let i = 0; i < 99; i++) h = histogramAdd(h, 0, 0, P);
    h = histogramAdd(h, 5, 0, P);
    expect(histogramQuantile(h, 0.99, 'upper', P)).toBe(0);
    expect(histogramQuantile(h, 0.995, 'upper', P)).toBeGreaterThanOrEqual(5);
  });

  it('halves the weight of a value every half-life, rescaling without changing any quantile', () => {
    // 10 values of 1 now, then one of 100 every half-life: the newest weighs 2^k times the first ones.
    const items: Array<[number, number]> = [];
    let h: DecayedHistogram = emptyHistogram();
    for (let i = 0; i < 10; i++) {
      h = histogramAdd(h, 1, 0, P);
      items.push([1, 1]);
    }
    for (let k = 1; k <= 120; k++) {
      // Past 50 half-lives the bins are rescaled (the first values underflow towards 0, as they should).
      h = histogramAdd(h, 100 + k, k * P.halfLifeMs, P);
      items.push([100 + k, 2 ** k]);
      for (const q of [0.01, 0.5, 0.9]) {
        const exact = weightedQuantile(items, q);
        expect(histogramQuantile(h, q, 'upper', P)).toBeGreaterThanOrEqual(exact);
        expect(histogramQuantile(h, q, 'upper', P)).toBeLessThanOrEqual(exact * 1.2);
      }
      expect(h.counts.flat().every(Number.isFinite)).toBe(true);
      expect(h.counts.flat()).toHaveLength(HISTOGRAM_BINS);
    }
    expect(h.ref).toBeGreaterThan(0);
  });

  it('forgets everything over a silence of thousands of half-lives, without NaN', () => {
    let h = emptyHistogram();
    h = histogramAdd(h, 50, 0, P);
    h = histogramAdd(h, 2, 5_000 * P.halfLifeMs, P);
    expect(histogramQuantile(h, 0.99, 'upper', P)).toBeLessThanOrEqual(2.4);
    expect(h.counts.flat().every(Number.isFinite)).toBe(true);
  });
});

describe('monotonic window', () => {
  it('gives the sliding minimum and maximum of brute force (points further apart than the merge slot)', () => {
    const points = fc.array(
      fc.record({ dt: fc.integer({ min: 1, max: 100 }), v: fc.integer({ min: 0, max: 50 }) }),
      {
        minLength: 1,
        maxLength: 200,
      },
    );
    fc.assert(
      fc.property(points, fc.integer({ min: 1, max: 400 }), (steps, span) => {
        let lo: TimeWindow = emptyWindow();
        let hi: TimeWindow = emptyWindow();
        const seen: Array<[number, number]> = [];
        let t = 0;
        for (const { dt, v } of steps) {
          t += dt;
          // Before adding the point: the extremes of [t − span, t).
          const inWindow = seen.filter(([u]) => u >= t - span).map(([, x]) => x);
          const from = firstKept(lo, t - span, false);
          expect(from < lo.v.length ? lo.v[from] : undefined).toBe(
            inWindow.length ? Math.min(...inWindow) : undefined,
          );
          const fromHi = firstKept(hi, t - span, false);
          expect(fromHi < hi.v.length ? hi.v[fromHi] : undefined).toBe(
            inWindow.length ? Math.max(...inWindow) : undefined,
          );
          lo = slideWindow(lo, from, t, v, 'min', 0.5);
          hi = slideWindow(hi, fromHi, t, v, 'max', 0.5);
          seen.push([t, v]);
        }
      }),
    );
  });

  it('errs on the safe side when it merges close points', () => {
    let w = emptyWindow();
    w = slideWindow(w, 0, 0, 5, 'min', 10);
    w = slideWindow(w, 0, 4, 9, 'min', 10); // within the slot: the 5 stands for both, at t = 4
    expect(w).toEqual({ t: [4], v: [5] });
    const before = structuredClone(w);
    slideWindow(w, 0, 20, 1, 'min', 10);
    expect(w).toEqual(before);
  });
});

describe('peak shortfalls', () => {
  it('records max(0, realised peak − estimate) once each horizon has passed, as brute force does', () => {
    const H = 100;
    const P2 = { ...P, horizonMs: H };
    const points = fc.array(
      fc.record({
        dt: fc.integer({ min: 1, max: 150 }),
        v: fc.integer({ min: 0, max: 100 }),
        estimate: fc.integer({ min: 0, max: 100 }),
      }),
      { minLength: 1, maxLength: 150 },
    );
    fc.assert(
      fc.property(points, (steps) => {
        let s = emptySpread();
        let expected = emptyHistogram();
        const seen: Array<{ t: number; v: number; estimate: number; scored: boolean }> = [];
        let t = 0;
        for (const { dt, v, estimate } of steps) {
          t += dt;
          // Brute force: each earlier estimate whose horizon ends by t is scored now, with the points seen
          // in (t0, t0 + H] (this one included when it falls there); none seen, nothing learnt.
          for (const e of seen) {
            if (e.scored || e.t + H > t) continue;
            e.scored = true;
            const inside = [...seen.map((p) => [p.t, p.v] as const), [t, v] as const]
              .filter(([u]) => u > e.t && u <= e.t + H)
              .map(([, x]) => x);
            if (inside.length > 0)
              expected = histogramAdd(expected, Math.max(0, Math.max(...inside) - e.estimate), t, P2);
          }
          s = spreadObserve(s, v, t, estimate, P2);
          seen.push({ t, v, estimate, scored: false });
          expect(s.shortfalls).toEqual(expected);
          expect(s.pendingT).toEqual(seen.filter((e) => !e.scored).map((e) => e.t));
        }
      }),
    );
  });

  it('keeps at most one estimate per slot of the horizon, and no point older than the oldest one', () => {
    let s = emptySpread();
    const P2 = { ...P, horizonMs: HOUR };
    for (let i = 0; i < 10_000; i++) s = spreadObserve(s, i % 7, i * 1_000, 3, P2);
    expect(s.pendingT.length).toBeLessThanOrEqual(257);
    expect(s.recent.t[0]!).toBeGreaterThanOrEqual(s.pendingT[0]! - HOUR / 256);
  });
});
