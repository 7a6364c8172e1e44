/**
 * Metric samples: the plain JSON form `{"pool":..,"metric":..,"value":..,"ts":..}` (ts in ms since the
 * epoch or RFC 3339). payload.ts decodes them (alone, in CloudEvents, in batches); this schema is what it
 * explains a bad one with.
 */
import { z } from 'zod';

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
