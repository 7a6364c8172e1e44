/**
 * The rises of a trace, without the cloud: at each row where demand climbs over what serves, the largest
 * rise the coming lead time brings. A pool that refilled at once would have to hold that many warm instances
 * before the row. Two uses:
 * - a first guess at the size of a fixed pool, which the simulator then checks by full runs;
 * - how predictable the rises are (`bench:rises`): could a pool sized from what is observable before each
 *   row (the hour, the level, the recent jumps ...) hold less than a fixed pool chosen with hindsight?
 */
import type { PoolSpec } from '../domain/index.js';

/** Rows of demand and how a pool meets them: `leadRows` for a refill to land, `holdRows` of scale-in hold. */
export interface RiseModel {
  demand: ArrayLike<number>;
  leadRows: number;
  holdRows: number;
}

/** The rise model of `demand` (rows of `stepMs`) for a pool: its refill lead time and scale-in hold in rows. */
export function riseModel(
  spec: Pick<PoolSpec, 'forecast' | 'scaleIn'>,
  demand: ArrayLike<number>,
  stepMs: number,
): RiseModel {
  return {
    demand,
    leadRows: Math.ceil(spec.forecast.horizonMs / stepMs),
    holdRows: Math.ceil(spec.scaleIn.stabilisationMs / stepMs),
  };
}

/**
 * Per row i: what serves just before it (the highest demand of the `holdRows` before, as scale-in holds it)
 * and, where demand[i] is above that, the rise: the peak of rows [i, i + leadRows) less what serves; else 0.
 */
export function risesByRow(m: RiseModel): { rise: Int32Array; serving: Int32Array } {
  const d = m.demand;
  const n = d.length;
  const rise = new Int32Array(n);
  const serving = new Int32Array(n);
  const lead = Math.max(1, m.leadRows);
  const hold = Math.max(1, m.holdRows);
  for (let i = 1; i < n; i++) {
    let s = 0;
    for (let j = Math.max(0, i - hold); j < i; j++) s = Math.max(s, d[j]!);
    serving[i] = s;
    if (d[i]! <= s) continue;
    let peak = 0;
    for (let j = i; j < Math.min(n, i + lead); j++) peak = Math.max(peak, d[j]!);
    rise[i] = peak - s;
  }
  return { rise, serving };
}

/**
 * The smallest fixed pool that covers the share `share` (0–1) of the rises, Σ min(S, rise) ≥ share × Σ rise,
 * as if it refilled at once. Fractional: between two sizes, a pool that holds the larger one part of the
 * time, so that small pools compare at exactly the share rather than at the next whole instance.
 *
 * @example fixedCovering([0, 4, 0, 10], 0.9) // 8.6: 8 covers 12 of 14, 9 covers 13, and 12.6 is needed
 */
export function fixedCovering(rises: ArrayLike<number>, share: number): number {
  let total = 0;
  let top = 0;
  for (let i = 0; i < rises.length; i++) {
    total += rises[i]!;
    top = Math.max(top, rises[i]!);
  }
  if (total === 0) return 0;
  const covered = (pool: number) => {
    let c = 0;
    for (let i = 0; i < rises.length; i++) c += Math.min(pool, rises[i]!);
    return c;
  };
  const need = share * total;
  // Σ min(S, r) grows with S: bisect for the smallest whole S that covers, then interpolate below it.
  let lo = 0;
  let hi = top;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (covered(mid) >= need) hi = mid;
    else lo = mid + 1;
  }
  if (lo === 0) return 0;
  const below = covered(lo - 1);
  return lo - 1 + (need - below) / (covered(lo) - below);
}

/** Something known when the pool for row i had to be decided, as a number per row. */
export interface Observable {
  name: string;
  /** value[i]: what was known a lead time before row i (from rows up to i − leadRows, or the clock). */
  value: Float64Array;
}

/**
 * The observables `bench:rises` tries. A pool grows only as fast as a refill lands, so the pool for row i is
 * decided a lead time before it, from rows up to k = i − leadRows: the hour of day (known ahead); the demand
 * at k; its change into k; how far it stands above its moving average; the headroom of what serves after k
 * over it; the largest rise of the hour before k that had been seen whole by then.
 */
export function observables(
  m: RiseModel,
  stepMs: number,
  rise: Int32Array,
  serving: Int32Array,
): Observable[] {
  const d = m.demand;
  const n = d.length;
  const hourRows = Math.max(1, Math.round(3_600_000 / stepMs));
  const lead = Math.max(1, m.leadRows);
  const make = (name: string, f: (k: number, i: number) => number): Observable => {
    const value = new Float64Array(n);
    for (let i = lead; i < n; i++) value[i] = f(i - lead, i);
    return { name, value };
  };
  const average = new Float64Array(n);
  average[0] = d[0] ?? 0;
  for (let i = 1; i < n; i++) average[i] = average[i - 1]! + 0.1 * (d[i]! - average[i - 1]!);
  // A sliding maximum would be O(n); a plain scan of an hour is cheap enough for a bench.
  const recentJump = (k: number) => {
    let top = 0;
    for (let j = Math.max(0, k - hourRows); j <= k - lead + 1; j++) top = Math.max(top, rise[j]!);
    return top;
  };
  return [
    make('hour', (_, i) => Math.floor(((i * stepMs) % 86_400_000) / 3_600_000)),
    make('level', (k) => d[k]!),
    make('lastChange', (k) => d[k]! - (k >= 1 ? d[k - 1]! : d[k]!)),
    make('aboveAverage', (k) => d[k]! - average[k]!),
    make('headroom', (k) => serving[k + 1]! - d[k]!),
    make('recentJump', recentJump),
  ];
}

export interface OnlineSizing {
  /** Mean pool held over the measured rows. */
  meanPool: number;
  /** Share of the measured rises' volume it covered, %. */
  coveredPct: number;
}

/**
 * The best a pool sized online from one observable could do: for each day from `firstDay`, the rows of the
 * days before are sorted into `buckets` by the observable (quantile edges of those rows), and each bucket's
 * pool is the quantile 1 − 1/λ of its rises (where holding one more instance starts to cost more than the
 * rises it covers, at price λ). The same λ holds for every day and bucket; it is the smallest that covers
 * `share` of the measured rises, which is chosen with hindsight, so the figure flatters the rule. With one
 * bucket it is a fixed pool re-fitted each day on the days before: what learning online costs against a
 * fixed pool sized on the measured days themselves.
 */
export function onlineSizing(
  rise: Int32Array,
  observable: Float64Array,
  dayRows: number,
  leadRows: number,
  firstDay: number,
  share: number,
  buckets = 4,
): OnlineSizing {
  const n = rise.length;
  const days = Math.floor(n / dayRows) + (n % dayRows > 0 ? 1 : 0);
  // Per measured day: the bucket edges and each bucket's sorted rises from the rows before that day whose
  // rise was wholly seen by then.
  const fitted: Array<{ from: number; to: number; edges: number[]; sorted: Int32Array[] }> = [];
  for (let day = Math.max(1, firstDay); day < days; day++) {
    const from = day * dayRows;
    const seen = Math.max(0, from - leadRows + 1);
    const values = Array.from(observable.subarray(1, seen)).sort((a, b) => a - b);
    const edges: number[] = [];
    for (let k = 1; k < buckets; k++) {
      const e = values[Math.floor((k * values.length) / buckets)];
      if (e !== undefined && (edges.length === 0 || e > edges[edges.length - 1]!)) edges.push(e);
    }
    const per: number[][] = Array.from({ length: edges.length + 1 }, () => []);
    for (let i = 1; i < seen; i++) per[bucketOf(edges, observable[i]!)]!.push(rise[i]!);
    fitted.push({
      from,
      to: Math.min(n, from + dayRows),
      edges,
      sorted: per.map((r) => Int32Array.from(r).sort()),
    });
  }
  const run = (exceed: number): OnlineSizing => {
    let held = 0;
    let rows = 0;
    let covered = 0;
    let total = 0;
    for (const f of fitted) {
      const pools = f.sorted.map((s) => upperQuantile(s, exceed));
      for (let i = f.from; i < f.to; i++) {
        const pool = pools[bucketOf(f.edges, observable[i]!)]!;
        held += pool;
        rows++;
        covered += Math.min(pool, rise[i]!);
        total += rise[i]!;
      }
    }
    return {
      meanPool: rows > 0 ? held / rows : 0,
      coveredPct: total > 0 ? (100 * covered) / total : 100,
    };
  };
  // Fewer rises allowed above the pool covers more: bisect on log(exceed) for the largest that covers share.
  let lo = -12; // log10 of the share of rows allowed above the pool
  let hi = 0;
  if (run(10 ** lo).coveredPct < 100 * share) return run(0);
  for (let k = 0; k < 50; k++) {
    const mid = (lo + hi) / 2;
    if (run(10 ** mid).coveredPct >= 100 * share) lo = mid;
    else hi = mid;
  }
  return run(10 ** lo);
}

/** Bucket k holds the values above edges[k − 1] up to edges[k]; the last, those above every edge. */
function bucketOf(edges: readonly number[], v: number): number {
  let k = 0;
  while (k < edges.length && v > edges[k]!) k++;
  return k;
}

/**
 * The pool with the share `exceed` of `sorted` above it, interpolated between neighbours (a pool that holds
 * the larger one part of the time), so that the rule is not held to whole instances where `fixedCovering`
 * is not.
 */
function upperQuantile(sorted: Int32Array, exceed: number): number {
  if (sorted.length === 0) return 0;
  const at = Math.max(0, sorted.length - 1 - exceed * sorted.length);
  const k = Math.floor(at);
  const next = sorted[Math.min(sorted.length - 1, k + 1)]!;
  return sorted[k]! + (at - k) * (next - sorted[k]!);
}
