/**
 * holt as a forecaster: exact on a straight line once warmed up, the peak at the right end of the horizon,
 * the trend never carried further than maxGapMs, and an upper bound (from the measured shortfalls of past
 * peak estimates) that covers q of the realised peaks without being far above them.
 */
import { describe, expect, it } from 'vitest';
import { holtForecaster, holtUpdate } from '../../lib/forecast/index.js';
import { mulberry32 } from '../../lib/util/index.js';

const SEC = 1_000;
const MIN = 60_000;
const HOUR = 3_600_000;
const T0 = Date.UTC(2024, 2, 4, 9, 17, 30);

function gaussian(rnd: () => number): () => number {
  return () => {
    let u = 0;
    for (let i = 0; i < 12; i++) u += rnd();
    return u - 6;
  };
}

describe('holt forecaster', () => {
  it('is exact on a rising line after warm-up: the peak is the line at the end of the horizon, upper = point', () => {
    // 10 + 0.05 per second, a point every 10 s; warm-up errors forgotten within the hour (half-life 10 min).
    const f = holtForecaster({ horizonMs: 5 * MIN, halfLifeMs: 10 * MIN });
    const line = (t: number) => 10 + (0.05 * (t - T0)) / SEC;
    let s = f.initial();
    let t = T0;
    for (let i = 0; i < 720; i++, t += 10 * SEC) s = f.update(s, line(t), t);
    t -= 10 * SEC;
    expect(s.trend).toBeCloseTo(0.05, 9);
    const peak = f.peak(s, t, 5 * MIN, 0.995);
    expect(peak.point).toBeCloseTo(line(t + 5 * MIN), 6);
    expect(peak.upper).toBe(peak.point);
    // Asked 20 s after the last point, the horizon starts then.
    expect(f.peak(s, t + 20 * SEC, 5 * MIN, 0.995).point).toBeCloseTo(line(t + 20 * SEC + 5 * MIN), 6);
  });

  it('on a falling line peaks at the start of the horizon, and never below 0', () => {
    const f = holtForecaster({ horizonMs: 5 * MIN });
    let s = f.initial();
    let t = T0;
    for (let i = 0; i < 200; i++, t += 10 * SEC) s = f.update(s, 500 - i, t);
    t -= 10 * SEC;
    expect(f.peak(s, t, 5 * MIN, 0.5).point).toBeCloseTo(301, 6);
    expect(f.peak(s, t + 4 * MIN, 5 * MIN, 0.5).point).toBeCloseTo(301 - 24, 6);
    // 301 at −0.1/s reaches 0 after about 50 min.
    expect(f.peak(s, t + HOUR, 5 * MIN, 0.5).point).toBe(0);
  });

  it('measures the trend per second over irregular spacing', () => {
    const f = holtForecaster({ horizonMs: 2 * MIN });
    const gaps = [200, 7000, 1500, 300, 4000, 900, 2500, 6000, 250, 3300];
    let s = f.initial();
    let t = T0;
    for (let i = 0; i < 300; i++) {
      t += gaps[i % gaps.length]!;
      s = f.update(s, 50 + 3 * ((t - T0) / SEC), t);
    }
    expect(s.trend).toBeCloseTo(3, 4);
    expect(f.peak(s, t, 2 * MIN, 0.9).point).toBeCloseTo(50 + 3 * ((t - T0) / SEC + 120), 1);
  });

  it('carries the trend at most maxGapMs, into a stale forecast and across a gap', () => {
    const f = holtForecaster({ horizonMs: 5 * MIN, maxGapMs: HOUR });
    let s = f.initial();
    let t = T0;
    for (let i = 0; i < 100; i++, t += MIN) s = f.update(s, 100 + i, t); // +1 a minute
    t -= MIN;
    expect(s.trend).toBeCloseTo(1 / 60, 6);
    // Six hours stale: the line stops an hour after the last point.
    expect(f.peak(s, t + 6 * HOUR, 5 * MIN, 0.5).point).toBeCloseTo(199 + 60, 4);
    // A point after 6 h of silence is compared with the line an hour on, not six.
    const after = f.update(s, 205, t + 6 * HOUR);
    expect(after.level).toBeCloseTo(0.5 * 205 + 0.5 * (199 + 60), 4);
    // holtUpdate without maxGapMs keeps its old behaviour.
    const old = holtUpdate({ level: s.level, trend: s.trend, t }, 205, t + 6 * HOUR, {
      alpha: 0.5,
      beta: 0.3,
    });
    expect(old.level).toBeCloseTo(0.5 * 205 + 0.5 * (199 + 360), 4);
  });

  it('upper at q covers ≥ q of the realised peaks of a noisy trend (20k points), within 1.5x of the needed margin', () => {
    const q = 0.99;
    const H = 5 * MIN;
    const step = MIN;
    const rnd = mulberry32(11);
    const noise = gaussian(rnd);
    const xs = Array.from({ length: 20_000 }, (_, i) => 20 + 0.03 * i + 3 * noise());
    const f = holtForecaster({ horizonMs: H });
    let s = f.initial();
    let covered = 0;
    let n = 0;
    let margin = 0;
    const needed: number[] = [];
    for (let i = 0; i + H / step < xs.length; i++) {
      s = f.update(s, xs[i]!, T0 + i * step);
      if (i < 3_000) continue;
      const peak = f.peak(s, T0 + i * step, H, q);
      const realised = Math.max(...xs.slice(i + 1, i + 1 + H / step));
      n++;
      if (peak.upper >= realised) covered++;
      margin += peak.upper - peak.point;
      needed.push(realised - peak.point);
    }
    needed.sort((a, b) => a - b);
    const empirical = needed[Math.ceil(q * needed.length) - 1]!;
    // Seen: coverage 0.998, mean margin 11.4 against an empirical 0.99-quantile of 10.1.
    expect(covered / n).toBeGreaterThanOrEqual(q);
    expect(margin / n).toBeLessThanOrEqual(1.5 * empirical);
  });
});
