/**
 * burst, the reserve against what cannot be predicted: on iid noise with random steps its upper bound at q
 * covers q of the realised peaks over the horizon, without being far above what was needed; it follows a
 * change of workload at the pace its half-life sets; its window stays bounded; no rise is learnt across a
 * gap.
 */
import { describe, expect, it } from 'vitest';
import { burstForecaster, WINDOW_SLOTS } from '../../lib/forecast/index.js';
import { mulberry32 } from '../../lib/util/index.js';

const SEC = 1_000;
const MIN = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

function gaussian(rnd: () => number): () => number {
  return () => {
    let u = 0;
    for (let i = 0; i < 12; i++) u += rnd();
    return u - 6;
  };
}

/** Demand around a base that steps up or down now and then (1 % of points), with noise σ = 3. */
function steppedNoise(seed: number, points: number): number[] {
  const rnd = mulberry32(seed);
  const noise = gaussian(rnd);
  let base = 50;
  const xs: number[] = [];
  for (let i = 0; i < points; i++) {
    if (rnd() < 0.01) base = Math.min(200, Math.max(5, base + (rnd() * 35 - 15)));
    xs.push(Math.max(0, base + 3 * noise()));
  }
  return xs;
}

/** The q-quantile of `xs` (the smallest value with at least q of them at or below it). */
function quantile(xs: number[], q: number): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.ceil(q * sorted.length) - 1]!;
}

describe('burst forecaster', () => {
  describe.each([
    [1, 0.99],
    [1, 0.995],
    [2, 0.995],
    [3, 0.995],
  ])('on noise with random steps (seed %i, 20k points a minute apart)', (seed, q) => {
    it(`covers ≥ ${q} of the realised 5 min peaks, with a reserve within 1.5x of the empirical ${q}-quantile`, () => {
      const H = 5 * MIN;
      const step = MIN;
      const xs = steppedNoise(seed, 20_000);
      const f = burstForecaster({ horizonMs: H });
      let s = f.initial();
      let covered = 0;
      let reserve = 0;
      const needed: number[] = [];
      for (let i = 0; i + H / step < xs.length; i++) {
        s = f.update(s, xs[i]!, i * step);
        if (i < 2_000) continue;
        const peak = f.peak(s, i * step, H, q);
        const realised = Math.max(...xs.slice(i + 1, i + 1 + H / step));
        if (peak.upper >= realised) covered++;
        reserve += peak.upper - s.level;
        needed.push(realised - s.level);
      }
      // Seen: coverage 0.994 to 0.997, mean reserve 1.05x to 1.2x the empirical quantile.
      expect(covered / needed.length).toBeGreaterThanOrEqual(q);
      expect(reserve / needed.length).toBeLessThanOrEqual(1.5 * quantile(needed, q));
    });
  });

  it('follows a change of workload: up within hours, down after about log2(1 / (1 − q)) half-lives', () => {
    const q = 0.99;
    const H = 5 * MIN;
    const halfLife = 6 * HOUR;
    const noise = gaussian(mulberry32(9));
    const f = burstForecaster({ horizonMs: H, halfLifeMs: halfLife });
    // Calm (σ 1) for two days, bursty (σ 6) for two, calm again for three.
    const sigmaAt = (t: number) => (t < 2 * DAY || t >= 4 * DAY ? 1 : 6);
    const xs = Array.from({ length: 7 * 24 * 60 }, (_, i) => Math.max(0, 50 + sigmaAt(i * MIN) * noise()));
    const needed = (from: number, to: number) => {
      const out: number[] = [];
      for (let i = from / MIN; i < to / MIN; i++) out.push(Math.max(...xs.slice(i + 1, i + 6)) - xs[i]!);
      return quantile(out, q);
    };
    const calm = needed(0, 2 * DAY);
    const bursty = needed(2 * DAY, 4 * DAY);
    expect(bursty).toBeGreaterThan(4 * calm);
    let s = f.initial();
    const reserveAt = (t: number) => f.peak(s, t, H, q).upper - s.level;
    for (let i = 0; i < xs.length; i++) {
      const t = i * MIN;
      s = f.update(s, xs[i]!, t);
      if (t === 2 * DAY - MIN) expect(reserveAt(t)).toBeLessThan(1.5 * calm);
      // Four hours into the bursts the reserve has risen to theirs.
      if (t === 2 * DAY + 4 * HOUR) expect(reserveAt(t)).toBeGreaterThan(0.8 * bursty);
      // Old bursts weigh under 1 − q of the total after log2(100) = 6.6 half-lives (40 h): then it is calm's.
      if (t === 4 * DAY + 12 * HOUR) expect(reserveAt(t)).toBeGreaterThan(2 * calm);
      if (t === 4 * DAY + 48 * HOUR) expect(reserveAt(t)).toBeLessThan(1.5 * calm);
    }
  });

  it('keeps the level at the last value; point = level + median rise, upper = level + the q-quantile', () => {
    const f = burstForecaster({ horizonMs: 5 * MIN });
    let s = f.initial();
    // A sawtooth 10, 12, … 18 a minute apart: the rises over the 5 previous points are 0, 2, 4, 6, 8.
    for (let i = 0; i < 500; i++) s = f.update(s, 10 + 2 * (i % 5), i * MIN);
    expect(s.level).toBe(18);
    const peak = f.peak(s, 499 * MIN, 5 * MIN, 0.99);
    expect(peak.point - s.level).toBeGreaterThan(3.5);
    expect(peak.point - s.level).toBeLessThan(4.5);
    expect(peak.upper - s.level).toBeGreaterThanOrEqual(8);
    expect(peak.upper - s.level).toBeLessThanOrEqual(8 * 1.2);
    // A flat load needs no reserve.
    let flat = f.initial();
    for (let i = 0; i < 100; i++) flat = f.update(flat, 7, i * MIN);
    expect(f.peak(flat, 99 * MIN, 5 * MIN, 0.999)).toEqual({ point: 7, upper: 7 });
  });

  it('with alpha < 1 measures rises from, and adds them to, a smoothed level', () => {
    const f = burstForecaster({ horizonMs: 5 * MIN, alpha: 0.5 });
    let s = f.initial();
    s = f.update(s, 10, 0);
    s = f.update(s, 20, MIN);
    expect(s.level).toBe(15);
    expect(s.window.v).toEqual([10, 15]);
  });

  it('keeps its window within the horizon and under WINDOW_SLOTS entries at any spacing', () => {
    const f = burstForecaster({ horizonMs: HOUR });
    const rnd = mulberry32(4);
    let s = f.initial();
    // A point a second, rising on average (the min deque keeps most of them), for two hours.
    for (let i = 0; i < 7_200; i++) {
      s = f.update(s, i / 10 + 20 * rnd(), i * SEC);
      expect(s.window.t.length).toBeLessThanOrEqual(WINDOW_SLOTS + 1);
      expect(s.window.t[0]!).toBeGreaterThanOrEqual(i * SEC - HOUR - HOUR / WINDOW_SLOTS);
    }
    expect(JSON.stringify(s).length).toBeLessThan(12_000);
  });

  it('learns no rise across a gap longer than the horizon', () => {
    const f = burstForecaster({ horizonMs: 5 * MIN });
    let s = f.initial();
    for (let i = 0; i < 50; i++) s = f.update(s, 10, i * MIN);
    const before = f.peak(s, 49 * MIN, 5 * MIN, 0.999);
    s = f.update(s, 500, 49 * MIN + 3 * HOUR);
    expect(s.level).toBe(500);
    expect(f.peak(s, 49 * MIN + 3 * HOUR, 5 * MIN, 0.999).upper - s.level).toBe(before.upper - 10);
  });
});
