/**
 * The simulator's inputs and accounting: trace files read strictly, demand scaling, policy names, and the
 * meter's integrals and waits on hand-made timelines.
 */
import { describe, expect, it } from 'vitest';
import { Meter, parsePolicy, parseTrace, toDemand } from '../../lib/sim/index.js';

describe('parseTrace', () => {
  it('reads t,value rows with their step; blank lines and CRLF are fine', () => {
    const t = parseTrace('t,value\r\n0,5\r\n60,7.5\r\n\r\n120,0\r\n', 'demo');
    expect(t.name).toBe('demo');
    expect(t.stepMs).toBe(60_000);
    expect([...t.values]).toEqual([5, 7.5, 0]);
  });

  it.each([
    ['time,load\n0,1\n1,2\n', 'demo: line 1: header must be "t,value" (got "time,load")'],
    ['t,value\n0,1\n', 'demo: needs at least two rows (got 1)'],
    ['t,value\n0,1\n60,x\n', 'demo: line 3: value "x" must be a number ≥ 0'],
    ['t,value\n0,1\n60,-2\n', 'demo: line 3: value "-2" must be a number ≥ 0'],
    ['t,value\n0,1\nnoon,2\n', 'demo: line 3: t "noon" is not a number'],
    ['t,value\n0,1\n60,2,3\n', 'demo: line 3: expected "t,value" (got "60,2,3")'],
    ['t,value\n60,1\n0,2\n', 'demo: line 3: t must increase (0 after 60)'],
    [
      't,value\n0,1\n60,2\n180,3\n',
      'demo: line 4: rows must be evenly spaced: t 180 after 60 (step 60 s from the first rows)',
    ],
  ])('refuses %j naming the line', (text, message) => {
    expect(() => parseTrace(text, 'demo')).toThrow(message);
  });
});

describe('toDemand', () => {
  const trace = parseTrace('t,value\n0,10\n60,250\n120,1000\n180,0\n', 'demo');

  it('is ceil(value / perInstance)', () => {
    expect([...toDemand(trace, { perInstance: 100 }).demand]).toEqual([1, 3, 10, 0]);
  });

  it('scales the peak to the instances asked for', () => {
    const { perInstance, demand } = toDemand(trace, { peakInstances: 20 });
    expect(perInstance).toBe(50);
    expect([...demand]).toEqual([1, 5, 20, 0]);
  });

  it('refuses to scale a trace of zeros', () => {
    expect(() => toDemand(parseTrace('t,value\n0,0\n5,0\n', 'flat'), { peakInstances: 5 })).toThrow(
      'flat: every value is 0; use --per-instance',
    );
  });
});

describe('parsePolicy', () => {
  it('reads names and arguments', () => {
    expect(parsePolicy('reactive')).toEqual({ label: 'reactive', name: 'reactive' });
    expect(parsePolicy('static')).toEqual({ label: 'static', name: 'static' });
    expect(parsePolicy('static:3')).toEqual({ label: 'static:3', name: 'static', perHost: 3 });
    expect(parsePolicy('predictive:burst')).toMatchObject({ name: 'predictive', forecast: 'burst' });
    expect(parsePolicy('oracle')).toEqual({ label: 'oracle', name: 'oracle' });
    expect(parsePolicy('timing')).toEqual({ label: 'timing', name: 'timing' });
    expect(parsePolicy('timing:12')).toEqual({ label: 'timing:12', name: 'timing', size: 12 });
  });

  it.each([
    ['lazy', '--policy lazy: unknown policy "lazy" (one of: reactive, static, predictive, oracle, timing)'],
    ['timing:-3', '--policy timing:-3: the warm instances before a rise must be an integer ≥ 0'],
    ['static:-1', '--policy static:-1: the warm instances per host must be an integer ≥ 0'],
    ['static:1.5', '--policy static:1.5: the warm instances per host must be an integer ≥ 0'],
    ['oracle:2', '--policy oracle:2: oracle takes no argument'],
    ['predictive:arima', '--policy predictive:arima: unknown forecaster "arima"'],
    ['predictive:none', '--policy predictive:none: unknown forecaster "none"'],
    ['static:1:2', '--policy static:1:2: expected NAME or NAME:ARG'],
  ])('refuses %s', (text, message) => {
    expect(() => parsePolicy(text)).toThrow(message);
  });
});

describe('Meter', () => {
  it('integrates warm and unserved over time, from the start of measurement only', () => {
    const m = new Meter(1_000);
    m.change(undefined, 'booting', 0);
    m.change('booting', 'warm', 500); // warm from 500; measured from 1000
    m.setDemand(1, 2_000); // one instance of demand, none serving: unserved from 2 s
    m.change('warm', 'promoting', 2_000);
    m.change('promoting', 'active', 2_400); // served after 0.4 s
    const r = m.finish(4_000);
    expect(r.idleWarmInstanceHours * 3_600_000).toBeCloseTo(1_000); // 1000..2000
    expect(r.unservedInstanceSeconds).toBeCloseTo(0.4);
    expect(r.waitP50S).toBeCloseTo(0.4);
    expect(r.waitP99S).toBeCloseTo(0.4);
  });

  it('serves the oldest waiting demand first, and forgets demand that went away unserved', () => {
    const m = new Meter(0);
    m.setDemand(2, 0); // two wait from 0
    m.setDemand(3, 10_000); // a third from 10 s
    m.change(undefined, 'active', 20_000); // serves the one from 0: 20 s
    m.setDemand(1, 30_000); // demand falls to 1 with 1 serving: the others are not wanted any more
    m.setDemand(2, 40_000);
    m.change(undefined, 'active', 45_000); // the new one waited 5 s
    const r = m.finish(50_000);
    expect(r.unservedInstanceSeconds).toBeCloseTo(2 * 10 + 3 * 10 + 2 * 10 + 1 * 5);
    expect(r.waitP50S).toBe(5);
    expect(r.waitP99S).toBe(20);
  });

  it('counts warm hits and cold misses from the start of measurement', () => {
    const m = new Meter(100);
    m.promoted(5, 5, 50); // warm-up
    m.promoted(199, 1, 150);
    expect(m.finish(200)).toMatchObject({ servedWarmPct: 99.5, warmHits: 199, coldMisses: 1 });
  });

  it('reports full service when nothing asked for scale-out', () => {
    expect(new Meter(0).finish(1_000).servedWarmPct).toBe(100);
  });

  it('splits the figures by day of the trace, the warm held across midnight to each side', () => {
    const DAY_MS = 86_400_000;
    const m = new Meter(DAY_MS / 2); // measured from noon of day 0
    m.change(undefined, 'warm', 0);
    m.change(undefined, 'warm', DAY_MS - 3_600_000); // a second warm instance from 23:00 of day 0
    m.promoted(3, 1, DAY_MS / 2 + 1); // day 0: 75 %
    m.promoted(10, 0, DAY_MS + 1); // day 1: 100 %
    m.change('warm', undefined, DAY_MS + 3_600_000); // back to one at 01:00 of day 1
    const r = m.finish(2 * DAY_MS);
    expect(r.byDay).toHaveLength(2);
    const [d0, d1] = r.byDay;
    expect(d0).toMatchObject({ day: 0, servedWarmPct: 75, warmHits: 3, coldMisses: 1 });
    expect(d0!.idleWarmInstanceHours).toBeCloseTo(12 + 1); // 12 h of one from noon, plus one more for 1 h
    expect(d0!.meanWarm).toBeCloseTo(13 / 12);
    expect(d1).toMatchObject({ day: 1, servedWarmPct: 100, warmHits: 10, coldMisses: 0 });
    expect(d1!.idleWarmInstanceHours).toBeCloseTo(24 + 1);
    expect(r.idleWarmInstanceHours).toBeCloseTo(13 + 25);
  });
});
