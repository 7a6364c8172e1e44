/**
 * Per pool and metric, the samples of the current interval folded into count, sum, max and last: O(1)
 * memory per series whatever the rate, and no allocation per sample.
 */
export interface IntervalStats {
  count: number;
  sum: number;
  max: number;
  last: number;
  lastTs: number;
}

export type Aggregate = 'last' | 'max' | 'avg';

export class MetricAggregator {
  private readonly series = new Map<string, IntervalStats>();

  private static key(pool: string, metric: string): string {
    return `${pool}\u0000${metric}`;
  }

  add(pool: string, metric: string, value: number, ts: number): void {
    const key = MetricAggregator.key(pool, metric);
    const s = this.series.get(key);
    if (!s) {
      this.series.set(key, { count: 1, sum: value, max: value, last: value, lastTs: ts });
      return;
    }
    s.count++;
    s.sum += value;
    if (value > s.max) s.max = value;
    if (ts >= s.lastTs) {
      s.last = value;
      s.lastTs = ts;
    }
  }

  /** Closes the interval of one series: returns its stats (undefined when no sample came) and starts anew. */
  take(pool: string, metric: string): IntervalStats | undefined {
    const key = MetricAggregator.key(pool, metric);
    const s = this.series.get(key);
    this.series.delete(key);
    return s;
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
