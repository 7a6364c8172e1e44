import type { IntervalStats } from '../domain/index.js';

export type { IntervalStats };

export type Aggregate = 'last' | 'max' | 'avg';
/**
 * Folds a batch of samples per pool, metric and interval into count, sum, max and last before anything
 * leaves the process: O(series) memory whatever the rate, one store call per series per batch, and no
 * allocation per sample beyond the first of each series.
 */
export class MetricAggregator {
  private readonly series = new Map<
    string,
    { pool: string; metric: string; start: number; stats: IntervalStats }
  >();

  add(pool: string, metric: string, value: number, ts: number, intervalMs: number): void {
    const start = intervalStart(ts, intervalMs);
    const key = `${pool}\u0000${metric}\u0000${start}`;
    const s = this.series.get(key);
    if (!s) {
      this.series.set(key, {
        pool,
        metric,
        start,
        stats: { count: 1, sum: value, max: value, last: value, lastTs: ts },
      });
      return;
    }
    const st = s.stats;
    st.count++;
    st.sum += value;
    if (value > st.max) st.max = value;
    if (ts >= st.lastTs) {
      st.last = value;
      st.lastTs = ts;
    }
  }

  /** Everything folded so far, and a fresh start. */
  drain(): Array<{ pool: string; metric: string; start: number; stats: IntervalStats }> {
    const out = [...this.series.values()];
    this.series.clear();
    return out;
  }
}

/** The value that an interval contributes, as the pool's capacity config asks. */
export function reduce(stats: IntervalStats, how: Aggregate): number {
  switch (how) {
    case 'last':
      return stats.last;
    case 'max':
      return stats.max;
    case 'avg':
      return stats.sum / stats.count;
  }
}

/** Folds `add` into `into` (count, sum, max; last by timestamp). */
export function mergeStats(into: IntervalStats, add: IntervalStats): void {
  into.count += add.count;
  into.sum += add.sum;
  if (add.max > into.max) into.max = add.max;
  if (add.lastTs >= into.lastTs) {
    into.last = add.last;
    into.lastTs = add.lastTs;
  }
}

/** Start (clock ms) of the interval that holds time `t`. */
export function intervalStart(t: number, intervalMs: number): number {
  return Math.floor(t / intervalMs) * intervalMs;
}
