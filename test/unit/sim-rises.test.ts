/**
 * The rises of a trace without the cloud: what each rise asks of a pool, the fixed pool that covers a
 * share of them, the observables known a lead time ahead, and the online sizing rule of bench:rises.
 */
import { describe, expect, it } from 'vitest';
import { fixedCovering, observables, onlineSizing, risesByRow } from '../../lib/sim/index.js';
import { mulberry32 } from '../../lib/util/index.js';

describe('risesByRow', () => {
  it('counts a rise where demand climbs over what serves, as the peak of the lead time over it', () => {
    // Scale-in holds 2 rows: the dip at row 3 still has 6 serving, so row 4's return to 6 is no rise.
    const demand = [5, 5, 6, 4, 6, 9, 8, 12, 3, 3, 3, 4];
    const { rise, serving } = risesByRow({ demand, leadRows: 2, holdRows: 2 });
    expect([...serving]).toEqual([0, 5, 5, 6, 6, 6, 9, 9, 12, 12, 3, 3]);
    expect([...rise]).toEqual([0, 0, 1, 0, 0, 3, 0, 3, 0, 0, 0, 1]);
  });

  it('takes the peak over the whole lead time, not only the row that rises', () => {
    const { rise } = risesByRow({ demand: [2, 2, 3, 7, 7], leadRows: 3, holdRows: 1 });
    expect(rise[2]).toBe(5); // 3 now and 7 a row later, over the 2 serving
  });
});

describe('fixedCovering', () => {
  it('interpolates between the whole pools on either side of the share', () => {
    // 8 covers 4 + 8 = 12 of 14, 9 covers 13; 0.9 × 14 = 12.6 lies 0.6 of the way.
    expect(fixedCovering([0, 4, 0, 10], 0.9)).toBeCloseTo(8.6, 9);
  });

  it('is the largest rise for the whole share, and 0 without rises', () => {
    expect(fixedCovering([3, 1, 7, 2], 1)).toBe(7);
    expect(fixedCovering([0, 0, 0], 0.995)).toBe(0);
  });
});

describe('observables', () => {
  it('sees nothing of the lead time before the row: changing those rows changes no value', () => {
    const rand = mulberry32(3);
    const demand = Int32Array.from({ length: 400 }, () => 20 + Math.floor(rand() * 10));
    const model = { demand, leadRows: 3, holdRows: 5 };
    const at = (d: Int32Array) => {
      const { rise, serving } = risesByRow({ ...model, demand: d });
      return observables({ ...model, demand: d }, 60_000, rise, serving);
    };
    const before = at(demand);
    const changed = demand.slice();
    for (let j = 298; j <= 300; j++) changed[j] = 90; // rows i − 2 … i of row 300
    const after = at(changed);
    for (const [k, o] of before.entries()) {
      expect(after[k]!.value[300], o.name).toBe(o.value[300]);
    }
    // A row later, the first changed row is a lead time back, and seen.
    expect(after.find((o) => o.name === 'level')!.value[301]).toBe(90);
  });

  it('names the six observables the bench tries', () => {
    const demand = new Int32Array(50).fill(1);
    const { rise, serving } = risesByRow({ demand, leadRows: 1, holdRows: 1 });
    const names = observables({ demand, leadRows: 1, holdRows: 1 }, 300_000, rise, serving).map(
      (o) => o.name,
    );
    expect(names).toEqual(['hour', 'level', 'lastChange', 'aboveAverage', 'headroom', 'recentJump']);
  });
});

describe('onlineSizing', () => {
  const dayRows = 200;
  const days = 8;
  /** Rises of 10 on one row in ten, and of 1 or 0 elsewhere; `big` marks the rows of the large ones. */
  function series(seed: number) {
    const rand = mulberry32(seed);
    const rise = new Int32Array(days * dayRows);
    const big = new Float64Array(rise.length);
    for (let i = 0; i < rise.length; i++) {
      big[i] = rand() < 0.1 ? 1 : 0;
      rise[i] = big[i] ? 10 : rand() < 0.5 ? 1 : 0;
    }
    return { rise, big };
  }

  it('with no observable, lands close to the fixed pool on a series that does not change', () => {
    const { rise } = series(1);
    const r = onlineSizing(rise, new Float64Array(rise.length), dayRows, 1, 1, 0.995, 1);
    expect(r.coveredPct).toBeGreaterThanOrEqual(99.5);
    const fixed = fixedCovering(rise.subarray(dayRows), 0.995);
    expect(r.meanPool).toBeGreaterThan(0.9 * fixed);
    expect(r.meanPool).toBeLessThan(1.1 * fixed);
  });

  it('holds far less than the fixed pool when an observable tells the rows of the large rises', () => {
    const { rise, big } = series(2);
    const fixed = fixedCovering(rise.subarray(dayRows), 0.995);
    const r = onlineSizing(rise, big, dayRows, 1, 1, 0.995);
    expect(r.coveredPct).toBeGreaterThanOrEqual(99.5);
    // The large rises need 10 on a tenth of the rows; the rest need at most 1.
    expect(r.meanPool).toBeLessThan(0.3 * fixed);
  });

  it('learns only from days before the one it sizes: a first large rise on the last day is missed', () => {
    const rise = new Int32Array(days * dayRows).fill(1);
    rise[days * dayRows - 5] = 50;
    const r = onlineSizing(rise, new Float64Array(rise.length), dayRows, 1, 1, 1, 1);
    expect(r.meanPool).toBeCloseTo(1, 9);
    expect(r.coveredPct).toBeLessThan(100);
  });
});
