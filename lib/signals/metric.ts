/**
 * Metric samples: the plain JSON form `{"pool":..,"metric":..,"value":..,"ts":..}` (ts in ms since the
 * epoch or RFC 3339), validated with zod. A bad sample is refused with one line per problem naming the
 * field; nothing of it is applied.
 */
import { z } from 'zod';
import { formatIssues } from '../util/index.js';

export const metricSampleSchema = z
  .object({
    pool: z.string().min(1).max(63),
    metric: z.string().min(1).max(128),
    value: z.number(),
    ts: z.union([z.number().int().nonnegative(), z.iso.datetime({ offset: true })]),
  })
  .strict();

export interface MetricSample {
  pool: string;
  metric: string;
  value: number;
  /** ms since the epoch. */
  ts: number;
}

export type Decoded<T> = { ok: true; value: T } | { ok: false; problems: string[] };

/**
 * @example
 * const r = decodeMetric({ pool: 'web', metric: 'rps', value: 120, ts: Date.now() });
 * if (!r.ok) console.error(r.problems.join('\n'));
 */
export function decodeMetric(raw: unknown): Decoded<MetricSample> {
  const parsed = metricSampleSchema.safeParse(raw, { reportInput: true });
  if (!parsed.success) return { ok: false, problems: formatIssues(parsed.error.issues) };
  const { pool, metric, value, ts } = parsed.data;
  return { ok: true, value: { pool, metric, value, ts: typeof ts === 'number' ? ts : Date.parse(ts) } };
}
