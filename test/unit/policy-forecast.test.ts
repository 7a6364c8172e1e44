/**
 * The pure core of the decision: target tracking, the scale-in stabilisation window, warm targets per host,
 * and Holt's linear forecast over regular and irregular intervals.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { PoolSpec } from '../../lib/domain/index.js';
import { type HoltState, holtForecast, holtUpdate } from '../../lib/forecast/index.js';
import { type DesiredHistory, desiredFromMetric, stabilise, warmTargets } from '../../lib/policy/index.js';
import { poolFixture } from '../support/pool-fixture.js';

const base = poolFixture({ hosts: 3, warmPerHost: 2, maxPerHost: 4, minActive: 2, maxActive: 10 }).spec;

function withSpec(change: (spec: PoolSpec) => Partial<PoolSpec>): PoolSpec {
  return { ...base, ...change(base) };
}

describe('desiredFromMetric', () => {
  it('is ceil(value / perInstance), within minActive and maxActive', () => {
    expect(desiredFromMetric(base, 250)).toBe(3);
    expect(desiredFromMetric(base, 301)).toBe(4);
    expect(desiredFromMetric(base, 950)).toBe(10);
    expect(desiredFromMetric(base, 1001)).toBe(10); // 11 clamped
    expect(desiredFromMetric(base, 1e9)).toBe(10);
    expect(desiredFromMetric(base, 150)).toBe(2);
    expect(desiredFromMetric(base, 50)).toBe(2); // 1 raised to minActive
  });

  it('counts an exact multiple as that many instances, float noise included', () => {
    expect(desiredFromMetric(base, 300)).toBe(3);
    expect(desiredFromMetric(base, 1000)).toBe(10);
    const tenth = withSpec((s) => ({ capacity: { ...s.capacity, perInstance: 0.1 } }));
    expect(0.7 / 0.1).toBeLessThan(7); // 6.999…
    expect(desiredFromMetric(tenth, 0.7)).toBe(7);
    expect(desiredFromMetric(tenth, 0.3)).toBe(3);
    const sixTenths = withSpec((s) => ({ capacity: { ...s.capacity, perInstance: 0.6 } }));
    expect(4.2 / 0.6).toBeGreaterThan(7); // 7.000…1
    expect(desiredFromMetric(sixTenths, 4.2)).toBe(7);
    expect(desiredFromMetric(sixTenths, 4.21)).toBe(8);
  });

  it('maps zero and negative load to minActive', () => {
    expect(desiredFromMetric(base, 0)).toBe(2);
    expect(desiredFromMetric(base, -500)).toBe(2);
    const noFloor = withSpec((s) => ({ bounds: { ...s.bounds, minActive: 0 } }));
    expect(desiredFromMetric(noFloor, 0)).toBe(0);
    expect(desiredFromMetric(noFloor, -1)).toBe(0);
    expect(desiredFromMetric(noFloor, 0.001)).toBe(1);
  });
});

describe('stabilise', () => {
  const spec = withSpec((s) => ({ scaleIn: { ...s.scaleIn, stabilisationMs: 300_000 } }));

  it('scales out at once and scales in only once the window has passed', () => {
    let history: DesiredHistory = [];
    const step = (now: number, desired: number) => {
      const r = stabilise(spec, history, now, desired);
      history = r.history;
      return r.desired;
    };
    expect(step(0, 5)).toBe(5);
    expect(step(10_000, 8)).toBe(8); // out: immediate
    expect(step(20_000, 3)).toBe(8); // in: held
    expect(step(309_999, 3)).toBe(8); // the 8 at 10 s is still inside the window
    expect(step(310_000, 3)).toBe(3); // …and now it is not
    expect(step(310_001, 2)).toBe(3); // the 3 at 20 s holds
    expect(step(620_001, 2)).toBe(2);
  });

  it('compacts the history to the points that can still be a maximum, without touching its input', () => {
    const input: DesiredHistory = [
      [0, 5],
      [10_000, 8],
    ];
    const r = stabilise(spec, input, 20_000, 3);
    expect(r.desired).toBe(8);
    expect(r.history).toEqual([
      [10_000, 8],
      [20_000, 3],
    ]);
    expect(input).toEqual([
      [0, 5],
      [10_000, 8],
    ]);
    // A higher point makes every older lower one irrelevant.
    expect(stabilise(spec, r.history, 30_000, 9).history).toEqual([[30_000, 9]]);
    // Points outside the window go, even the maximum.
    expect(stabilise(spec, r.history, 400_000, 1)).toEqual({ desired: 1, history: [[400_000, 1]] });
  });

  it('always answers the maximum desired inside the window (checked against brute force)', () => {
    const window = 60_000;
    const small = withSpec((s) => ({ scaleIn: { ...s.scaleIn, stabilisationMs: window } }));
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 40_000 }), fc.integer({ min: 0, max: 50 })), {
          maxLength: 60,
        }),
        (steps) => {
          let history: DesiredHistory = [];
          const seen: Array<[number, number]> = [];
          let now = 0;
          for (const [dt, desired] of steps) {
            now += dt;
            seen.push([now, desired]);
            const r = stabilise(small, history, now, desired);
            history = r.history;
            const expected = Math.max(...seen.filter(([t]) => t > now - window).map(([, d]) => d));
            expect(r.desired).toBe(expected);
            // Compacted: strictly decreasing desired, increasing time.
            for (let i = 1; i < history.length; i++) {
              expect(history[i]![1]).toBeLessThan(history[i - 1]![1]);
              expect(history[i]![0]).toBeGreaterThanOrEqual(history[i - 1]![0]);
            }
          }
        },
      ),
      { numRuns: 200, seed: 7 },
    );
  });
});

describe('warmTargets', () => {
  const [H1, H2, H3] = base.hosts.map((h) => h.name) as [string, string, string];
  const uneven = withSpec((s) => ({
    hosts: [
      { name: H1, min: 0, target: 2, max: 4 },
      { name: H2, min: 3, target: 1, max: 4 }, // target below min: min wins
      { name: H3, min: 0, target: 6, max: 3 }, // target above max: max wins
    ],
    bounds: { ...s.bounds, maxWarm: 12 },
  }));

  it('is each host target within its min and max when nothing extra is asked', () => {
    expect([...warmTargets(uneven, 0)]).toEqual([
      [H1, 2],
      [H2, 3],
      [H3, 3],
    ]);
    expect([...warmTargets(uneven, -4)]).toEqual([...warmTargets(uneven, 0)]);
  });

  it('spreads the extra one at a time to the host with the most free capacity, within host max', () => {
    const free = new Map([
      [H1, 10],
      [H2, 1],
      [H3, 50],
    ]);
    // H3 is at its max already; H1 has more free slots than H2, until H1 reaches its max of 4.
    expect([...warmTargets(uneven, 3, free)]).toEqual([
      [H1, 4],
      [H2, 4],
      [H3, 3],
    ]);
    expect([...warmTargets(uneven, 1.2, free)]).toEqual([
      [H1, 4],
      [H2, 3],
      [H3, 3],
    ]); // 1.2 rounds up to 2
    // Everything at max: the extra has nowhere to go.
    expect([...warmTargets(uneven, 100, free)]).toEqual([
      [H1, 4],
      [H2, 4],
      [H3, 3],
    ]);
  });

  it('keeps the total within the pool warm maximum', () => {
    const capped = { ...uneven, bounds: { ...uneven.bounds, maxWarm: 9 } };
    const t = warmTargets(capped, 10, new Map([[H1, 5]]));
    expect([...t.values()].reduce((a, b) => a + b, 0)).toBe(9);
    // Base 2 + 3 + 3 = 8, room for one: it goes to a host whose free capacity is not known to be short.
    expect([...t]).toEqual([
      [H1, 2],
      [H2, 4],
      [H3, 3],
    ]);
  });

  it('spreads the extra evenly over hosts whose free capacity is unknown', () => {
    // The controller asks without free slots: the extra must still spread, not pile onto the first host.
    expect([...warmTargets(base, 3)]).toEqual([
      [H1, 3],
      [H2, 3],
      [H3, 3],
    ]);
    expect([...warmTargets(base, 4)]).toEqual([
      [H1, 4],
      [H2, 3],
      [H3, 3],
    ]);
  });

  it('spreads exactly as one at a time to the host with the most free room, on any pool', () => {
    /** The rule as the docs state it, one extra at a time: the reference the fast spread must match. */
    function oneAtATime(
      spec: PoolSpec,
      extra: number,
      freeSlots: ReadonlyMap<string, number>,
      held: ReadonlyMap<string, number>,
    ): Map<string, number> {
      const targets = new Map(spec.hosts.map((h) => [h.name, Math.min(h.max, Math.max(h.min, h.target))]));
      let total = [...targets.values()].reduce((a, b) => a + b, 0);
      const free = new Map(spec.hosts.map((h) => [h.name, freeSlots.get(h.name) ?? Number.MAX_SAFE_INTEGER]));
      let left = Math.max(0, Math.ceil(extra));
      for (const h of spec.hosts) {
        const t = targets.get(h.name)!;
        const keep = Math.min(left, (held.get(h.name) ?? 0) - t, h.max - t, spec.bounds.maxWarm - total);
        if (keep <= 0) continue;
        targets.set(h.name, t + keep);
        free.set(h.name, free.get(h.name)! - keep);
        total += keep;
        left -= keep;
      }
      while (left > 0 && total < spec.bounds.maxWarm) {
        const best = spec.hosts
          .filter((h) => h.max - targets.get(h.name)! > 0)
          .reduce<(typeof spec.hosts)[number] | undefined>(
            (b, h) => (b === undefined || free.get(h.name)! > free.get(b.name)! ? h : b),
            undefined,
          );
        if (!best) break;
        targets.set(best.name, targets.get(best.name)! + 1);
        free.set(best.name, free.get(best.name)! - 1);
        total++;
        left--;
      }
      return targets;
    }
    const host = fc.record({
      min: fc.integer({ min: 0, max: 3 }),
      target: fc.integer({ min: 0, max: 5 }),
      max: fc.integer({ min: 0, max: 8 }),
      free: fc.option(fc.integer({ min: 0, max: 12 }), { nil: undefined }),
      held: fc.integer({ min: 0, max: 9 }),
    });
    fc.assert(
      fc.property(
        fc.array(host, { minLength: 1, maxLength: 12 }),
        fc.integer({ min: -2, max: 60 }),
        fc.integer({ min: 0, max: 80 }),
        (hs, extra, maxWarm) => {
          const spec = withSpec((s) => ({
            hosts: hs.map((h, i) => ({ name: `h${i}`, min: h.min, target: h.target, max: h.max })),
            bounds: { ...s.bounds, maxWarm },
          }));
          const free = new Map(
            hs.flatMap((h, i) => (h.free === undefined ? [] : [[`h${i}`, h.free] as const])),
          );
          const held = new Map(hs.map((h, i) => [`h${i}`, h.held] as const));
          expect([...warmTargets(spec, extra, free, held)]).toEqual([...oneAtATime(spec, extra, free, held)]);
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('Holt forecast', () => {
  const p = { alpha: 0.5, beta: 0.3 };

  it('starts at the first point with no trend', () => {
    expect(holtUpdate(undefined, 42, 1_000, p)).toEqual({ level: 42, trend: 0, t: 1_000 });
  });

  it('learns the slope of a linear ramp, and forecasts along it', () => {
    // 10 + 2 per second, a point a second.
    let s: HoltState | undefined;
    for (let i = 0; i <= 200; i++) s = holtUpdate(s, 10 + 2 * i, i * 1000, p);
    expect(s!.trend).toBeCloseTo(2, 6);
    expect(s!.level).toBeCloseTo(410, 4);
    expect(s!.t).toBe(200_000);
    expect(holtForecast(s!, 60_000)).toBeCloseTo(410 + 120, 3);
    expect(holtForecast(s!, 0)).toBe(s!.level);
  });

  it('has no trend on a constant, and loses a trend once the load flattens', () => {
    let s: HoltState | undefined;
    for (let i = 0; i < 50; i++) s = holtUpdate(s, 7, i * 1000, p);
    expect(s).toEqual({ level: 7, trend: 0, t: 49_000 });
    expect(holtForecast(s!, 300_000)).toBe(7);

    let r: HoltState | undefined;
    for (let i = 0; i < 50; i++) r = holtUpdate(r, 100 + 5 * i, i * 1000, p);
    expect(r!.trend).toBeGreaterThan(4.9);
    for (let i = 50; i < 250; i++) r = holtUpdate(r, 345, i * 1000, p);
    expect(Math.abs(r!.trend)).toBeLessThan(1e-6);
    expect(r!.level).toBeCloseTo(345, 4);
  });

  it('measures the trend per second whatever the spacing of the points', () => {
    // The same ramp (3 per second) sampled at irregular intervals from 0.2 s to 7 s.
    const gaps = [200, 7000, 1500, 300, 4000, 900, 2500, 6000, 250, 3300];
    let s: HoltState | undefined;
    let t = 0;
    for (let i = 0; i < 300; i++) {
      t += gaps[i % gaps.length]!;
      s = holtUpdate(s, 50 + 3 * (t / 1000), t, p);
    }
    expect(s!.trend).toBeCloseTo(3, 4);
    expect(s!.level).toBeCloseTo(50 + 3 * (t / 1000), 2);
    expect(holtForecast(s!, 120_000)).toBeCloseTo(50 + 3 * (t / 1000 + 120), 1);
  });

  it('refines only the level for a point at the same instant', () => {
    const s = holtUpdate(holtUpdate(undefined, 10, 0, p), 20, 1000, p);
    const same = holtUpdate(s, 40, 1000, p);
    expect(same).toEqual({ level: 0.5 * 40 + 0.5 * s.level, trend: s.trend, t: 1000 });
    const earlier = holtUpdate(s, 40, 500, p);
    expect(earlier.trend).toBe(s.trend);
    expect(earlier.t).toBe(1000);
  });
});
