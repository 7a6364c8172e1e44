/**
 * Metric payloads as they arrive on Kafka or HTTP: a plain sample `{"pool","metric","value","ts"}`, the
 * same inside a CloudEvents 1.0 structured-mode envelope, or a JSON array (a batch) of either. This is the
 * hot path of ingest: a hand-written check accepts the well-formed case without zod and without
 * allocating beyond the sample itself; only a payload that fails it goes through zod, to say what is wrong
 * (one line per problem, naming the field). Nothing here logs.
 */
import { z } from 'zod';
import { formatIssues } from '../util/index.js';
import { type Decoded, type MetricSample, metricSampleSchema } from './metric.js';

/** RFC 3339 with a zone, e.g. 2026-01-01T00:00:00Z or 2026-01-01T00:00:00.123+02:00. */
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i;

const SAMPLE_KEYS = 4;

function fastTs(ts: unknown): number | undefined {
  if (typeof ts === 'number') return Number.isSafeInteger(ts) && ts >= 0 ? ts : undefined;
  if (typeof ts === 'string' && RFC3339.test(ts)) {
    const ms = Date.parse(ts);
    return Number.isNaN(ms) ? undefined : ms;
  }
  return undefined;
}

/** The well-formed plain sample, or undefined when zod must look (to explain what is wrong). */
function fastSample(o: Record<string, unknown>): MetricSample | undefined {
  const { pool, metric, value } = o;
  if (typeof pool !== 'string' || pool.length === 0 || pool.length > 63) return undefined;
  if (typeof metric !== 'string' || metric.length === 0 || metric.length > 128) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value)) return undefined;
  const ts = fastTs(o.ts);
  if (ts === undefined) return undefined;
  let keys = 0;
  for (const _ in o) keys++;
  if (keys !== SAMPLE_KEYS) return undefined;
  return { pool, metric, value, ts };
}

export const cloudEventSchema = z
  .object({
    specversion: z.literal('1.0'),
    id: z.string().min(1),
    source: z.string().min(1),
    type: z.string().min(1),
    time: z.iso.datetime({ offset: true }).optional(),
    datacontenttype: z.string().optional(),
    dataschema: z.string().optional(),
    subject: z.string().optional(),
    data: z.unknown(),
  })
  .loose();

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** One sample from a plain object or a CloudEvent; `at` prefixes the paths of its problems. */
function decodeOne(raw: unknown, at: string, out: MetricSample[], problems: string[]): void {
  if (isObject(raw) && raw.specversion !== undefined) {
    decodeCloudEvent(raw, at, out, problems);
    return;
  }
  const fast = isObject(raw) ? fastSample(raw) : undefined;
  if (fast) {
    out.push(fast);
    return;
  }
  const parsed = metricSampleSchema.safeParse(raw, { reportInput: true });
  if (parsed.success) {
    const { pool, metric, value, ts } = parsed.data;
    out.push({ pool, metric, value, ts: typeof ts === 'number' ? ts : Date.parse(ts) });
  } else {
    for (const line of formatIssues(parsed.error.issues)) problems.push(at + line);
  }
}

function decodeCloudEvent(
  raw: Record<string, unknown>,
  at: string,
  out: MetricSample[],
  problems: string[],
): void {
  const ce = cloudEventSchema.safeParse(raw, { reportInput: true });
  if (!ce.success) {
    for (const line of formatIssues(ce.error.issues)) problems.push(at + line);
    return;
  }
  // The event's own time stands in for a sample without ts.
  const data = ce.data.data;
  const withTs =
    isObject(data) && data.ts === undefined && ce.data.time !== undefined
      ? { ...data, ts: ce.data.time }
      : data;
  decodeOne(withTs, `${at}data.`, out, problems);
}

/**
 * Decodes a parsed JSON payload into samples. All or nothing: one bad sample in a batch refuses the
 * batch, with every problem named (`[3].value: must be a number (got "x")`).
 *
 * @example
 * decodePayload([{ pool: 'web', metric: 'rps', value: 1, ts: 0 }]); // { ok: true, value: [ … ] }
 */
export function decodePayload(raw: unknown): Decoded<MetricSample[]> {
  const out: MetricSample[] = [];
  const problems: string[] = [];
  if (Array.isArray(raw)) {
    if (raw.length === 0) return { ok: false, problems: ['(root): must have at least 1 entry (got 0)'] };
    for (let i = 0; i < raw.length; i++) decodeOne(raw[i], `[${i}].`, out, problems);
  } else {
    decodeOne(raw, '', out, problems);
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, value: out };
}

/** Why a record could not be used, as the dead-letter topic records it. */
export type RejectReason = 'bad_json' | 'schema' | 'unknown_pool';

export type DecodedRecord =
  | { ok: true; value: MetricSample[] }
  | { ok: false; reason: RejectReason; problems: string[] };

/**
 * Decodes a Kafka record's value (UTF-8 JSON). A record whose value is not JSON, or not a valid payload,
 * comes back with the reason, for the dead-letter topic.
 */
export function decodeRecordValue(value: Buffer | string | null | undefined): DecodedRecord {
  if (value === null || value === undefined)
    return { ok: false, reason: 'bad_json', problems: ['(root): empty record'] };
  let parsed: unknown;
  try {
    parsed = JSON.parse(typeof value === 'string' ? value : value.toString('utf8'));
  } catch (err) {
    return { ok: false, reason: 'bad_json', problems: [`(root): not JSON: ${(err as Error).message}`] };
  }
  const decoded = decodePayload(parsed);
  return decoded.ok ? decoded : { ok: false, reason: 'schema', problems: decoded.problems };
}
