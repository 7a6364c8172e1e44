/**
 * What every forecaster promises, whatever its kind: pure updates over a JSON state that continues exactly
 * after a round trip through the store, finite answers with upper ≥ point ≥ 0 for any non-negative series
 * (irregular, with gaps, repeated instants), bad points ignored, and `restore` refusing foreign states.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type Forecaster,
  type ForecastKind,
  type ForecastSpec,
  ForecastSpecError,
  type ForecastState,
  makeForecaster,
} from '../../lib/forecast/index.js';
import { mulberry32 } from '../../lib/util/index.js';

const MIN = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
const T0 = Date.UTC(2024, 2, 4, 9, 17, 30);
const KINDS: ForecastKind[] = ['holt', 'holt-winters', 'burst'];

/** Small bins and season for holt-winters, so that short series go through every phase of the warm-up. */
const SPECS: Record<ForecastKind, ForecastSpec> = {
  holt: { kind: 'holt', horizonMs: 5 * MIN },
  'holt-winters': {
    kind: 'holt-winters',
    horizonMs: 5 * MIN,
    seasonMs: 2 * HOUR,
    binMs: 5 * MIN,
    weekBinMs: 20 * MIN,
    weeklyAfterMs: 4 * HOUR,
  },
  burst: { kind: 'burst', horizonMs: 5 * MIN },
};

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/** Every number in the state and the answers is finite (a NaN would become null in JSON). */
function allFinite(x: unknown): boolean {
  if (typeof x === 'number') return Number.isFinite(x);
  if (Array.isArray(x)) return x.every(allFinite);
  if (typeof x === 'object' && x !== null) return Object.values(x).every(allFinite);
  return true;
}

/** A day of demand every minute: a daily-ish wave, noise and a few bursts. */
function series(seed: number, points = 1_500, stepMs = MIN): Array<[number, number]> {
  const rnd = mulberry32(seed);
  const out: Array<[number, number]> = [];
  for (let i = 0; i < points; i++) {
    const t = T0 + i * stepMs;
    const burst = rnd() < 0.01 ? 30 * rnd() : 0;
    out.push([t, 40 + 15 * Math.sin((2 * Math.PI * i) / 120) + 4 * rnd() + burst]);
  }
  return out;
}

function run<S>(f: Forecaster<S>, points: ReadonlyArray<readonly [number, number]>, from = f.initial()): S {
  let s = from;
  for (const [t, v] of points) s = f.update(s, v, t);
  return s;
}

describe.each(KINDS)('forecaster %s', (kind) => {
  const f = makeForecaster(SPECS[kind]) as Forecaster<ForecastState>;

  it('names its kind and starts empty, answering 0 before any point', () => {
    expect(f.kind).toBe(kind);
    const s = f.initial();
    expect(s.kind).toBe(kind);
    expect(s.n).toBe(0);
    expect(JSON.parse(JSON.stringify(s))).toEqual(s);
    expect(f.peak(s, T0, 5 * MIN, 0.99)).toEqual({ point: 0, upper: 0 });
  });

  it('never modifies the state it is given (every input state deep-frozen)', () => {
    let s = deepFreeze(f.initial());
    for (const [t, v] of series(1)) s = deepFreeze(f.update(s, v, t));
    expect(s.n).toBe(1_500);
    // holt-winters went through its whole warm-up: both seasons on.
    if (s.kind === 'holt-winters') expect([s.dailyWeight, s.weeklyWeight]).toEqual([[], []]);
  });

  it('continues identically after a JSON round trip of its state, at any point', () => {
    const points = series(2);
    const straight = run(f, points);
    let s = f.initial();
    for (const [i, [t, v]] of points.entries()) {
      if (i % 97 === 0) s = JSON.parse(JSON.stringify(s)) as ForecastState;
      s = f.update(s, v, t);
    }
    expect(s).toEqual(straight);
    const now = points.at(-1)![0] + 20_000;
    expect(f.peak(s, now, 5 * MIN, 0.995)).toEqual(f.peak(straight, now, 5 * MIN, 0.995));
  });

  it('stays finite over irregular spacing, repeated instants and a gap of hours, then follows the new level', () => {
    const rnd = mulberry32(3);
    let s = f.initial();
    let t = T0;
    for (let i = 0; i < 600; i++) {
      t += i === 300 ? 7 * HOUR : Math.floor(rnd() * 4) * 20_000; // 0 to 60 s apart, then a 7 h gap
      s = f.update(s, i < 300 ? 20 + 10 * rnd() : 80 + 10 * rnd(), t);
      expect(allFinite(s)).toBe(true);
    }
    const peak = f.peak(s, t + 30_000, 5 * MIN, 0.99);
    expect(allFinite(peak)).toBe(true);
    expect(peak.point).toBeGreaterThan(60);
    expect(peak.point).toBeLessThan(120);
  });

  it('ignores NaN and ±Infinity (in the value or the time) and counts a negative value as 0', () => {
    const s = run(f, series(4, 50));
    const last = series(4, 50).at(-1)![0];
    expect(f.update(s, Number.NaN, last + MIN)).toBe(s);
    expect(f.update(s, Number.POSITIVE_INFINITY, last + MIN)).toBe(s);
    expect(f.update(s, 5, Number.NaN)).toBe(s);
    expect(f.update(s, -7, last + MIN)).toEqual(f.update(s, 0, last + MIN));
  });

  it('takes a now before the last point as the last point', () => {
    const points = series(5, 200);
    const s = run(f, points);
    const last = points.at(-1)![0];
    expect(f.peak(s, last - HOUR, 5 * MIN, 0.99)).toEqual(f.peak(s, last, 5 * MIN, 0.99));
  });

  it('restores its own stored state, and starts afresh from anything else', () => {
    const s = run(f, series(6, 400));
    expect(f.restore(JSON.parse(JSON.stringify(s)))).toEqual(s);
    for (const other of KINDS.filter((k) => k !== kind)) {
      const g = makeForecaster(SPECS[other]) as Forecaster<ForecastState>;
      expect(f.restore(run(g, series(6, 50)))).toEqual(f.initial());
    }
    for (const junk of [undefined, null, 42, 'holt', [], { kind }, { ...s, n: 'many' }, { ...s, t: null }]) {
      expect(f.restore(junk)).toEqual(f.initial());
    }
  });

  it('scales the learnt spread by sqrt(span / horizon) for a shorter horizon or a stale state', () => {
    const points = series(8);
    const s = run(f, points);
    const last = points.at(-1)![0];
    const margin = (now: number, horizonMs: number) => {
      const { point, upper } = f.peak(s, now, horizonMs, 0.99);
      return upper - point;
    };
    const learnt = margin(last, 5 * MIN);
    expect(learnt).toBeGreaterThan(0);
    expect(margin(last, 75_000)).toBeCloseTo(learnt / 2, 9);
    expect(margin(last + 15 * MIN, 5 * MIN)).toBeCloseTo(2 * learnt, 9);
  });

  it('gives an upper bound that grows with q', () => {
    const points = series(7);
    const s = run(f, points);
    const now = points.at(-1)![0];
    const bounds = [0.5, 0.9, 0.99, 0.999].map((q) => f.peak(s, now, 5 * MIN, q).upper);
    expect(bounds).toEqual([...bounds].sort((a, b) => a - b));
  });

  it('answers finite, with upper ≥ point ≥ 0, for any finite non-negative series (property)', () => {
    const point = fc.record({
      dt: fc.oneof(
        fc.constant(0),
        fc.integer({ min: 1, max: 10 * MIN }),
        fc.integer({ min: 1, max: 2 * DAY }),
      ),
      value: fc.oneof(fc.constant(0), fc.double({ min: 0, max: 1e6, noNaN: true })),
    });
    fc.assert(
      fc.property(
        fc.array(point, { minLength: 1, maxLength: 300 }),
        fc.integer({ min: 0, max: DAY }),
        fc.integer({ min: 0, max: 6 * HOUR }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (points, lag, horizon, q) => {
          let s = f.initial();
          let t = T0;
          for (const { dt, value } of points) {
            t += dt;
            s = f.update(s, value, t);
          }
          const peak = f.peak(s, t + lag, horizon, q);
          expect(allFinite(s)).toBe(true);
          expect(Number.isFinite(peak.point) && Number.isFinite(peak.upper)).toBe(true);
          expect(peak.point).toBeGreaterThanOrEqual(0);
          expect(peak.upper).toBeGreaterThanOrEqual(peak.point);
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('makeForecaster', () => {
  it('builds each kind, with its defaults', () => {
    for (const kind of KINDS) expect(makeForecaster({ kind }).kind).toBe(kind);
    // 5 min bins by default, or the metric interval when it is longer.
    expect(makeForecaster({ kind: 'holt-winters' }).initial().daily.flat()).toHaveLength(288);
    expect(
      makeForecaster({ kind: 'holt-winters', intervalMs: 10 * MIN })
        .initial()
        .daily.flat(),
    ).toHaveLength(144);
    expect(makeForecaster({ kind: 'holt-winters' }).initial().weekly.flat()).toHaveLength(168);
    expect(makeForecaster({ kind: 'holt-winters', weekly: false }).initial().weekly).toEqual([]);
  });

  it('refuses an option out of range, naming the field', () => {
    const bad: Array<[ForecastSpec, string]> = [
      [{ kind: 'holt', alpha: 0 }, 'forecast.alpha'],
      [{ kind: 'holt', beta: 1.5 }, 'forecast.beta'],
      [{ kind: 'burst', horizonMs: 0 }, 'forecast.horizonMs'],
      [{ kind: 'burst', halfLifeMs: -1 }, 'forecast.halfLifeMs'],
      [{ kind: 'holt-winters', binMs: 2 * DAY }, 'forecast.binMs'],
      [{ kind: 'holt-winters', gamma: Number.NaN }, 'forecast.gamma'],
      [{ kind: 'holt-winters', weeklyAfterMs: HOUR }, 'forecast.weeklyAfterMs'],
    ];
    for (const [spec, field] of bad) {
      expect(() => makeForecaster(spec)).toThrow(ForecastSpecError);
      expect(() => makeForecaster(spec)).toThrow(field);
    }
  });
});
