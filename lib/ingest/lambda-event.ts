/**
 * The Kafka event Lambda hands a function, for both Amazon MSK (`aws:kafka`) and self-managed Kafka
 * (`SelfManagedKafka`) event sources: records grouped by `topic-partition`, keys and values base64. Turned
 * into the InRecords the local consumer produces, so both hosts run one decode and ingest path.
 */
import { z } from 'zod';
import { formatIssues } from '../util/index.js';
import type { InRecord } from './records.js';

const recordSchema = z
  .object({
    topic: z.string().min(1),
    partition: z.number().int().nonnegative(),
    offset: z.union([z.number().int().nonnegative(), z.string().regex(/^\d+$/)]),
    timestamp: z.number().optional(),
    key: z.string().nullish(),
    value: z.string().nullish(),
  })
  .loose();

export const kafkaEventSchema = z
  .object({
    eventSource: z.enum(['aws:kafka', 'SelfManagedKafka']),
    records: z.record(z.string(), z.array(recordSchema)),
  })
  .loose();

export type KafkaEvent = z.output<typeof kafkaEventSchema>;

export class InvalidEventError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid Kafka event: ${problems.join('; ')}`);
  }
}

/** The records of each topic-partition, in offset order, ready for decodeRecords. */
export function recordsOfEvent(
  raw: unknown,
): Array<{ topic: string; partition: number; records: InRecord[] }> {
  const parsed = kafkaEventSchema.safeParse(raw, { reportInput: true });
  if (!parsed.success) throw new InvalidEventError(formatIssues(parsed.error.issues));
  return Object.values(parsed.data.records)
    .filter((list) => list.length > 0)
    .map((list) => ({
      topic: list[0]!.topic,
      partition: list[0]!.partition,
      records: list.map((r) => ({
        topic: r.topic,
        partition: r.partition,
        offset: String(r.offset),
        key: r.key ? Buffer.from(r.key, 'base64') : null,
        value: r.value ? Buffer.from(r.value, 'base64') : null,
        ...(r.timestamp === undefined ? {} : { timestamp: r.timestamp }),
      })),
    }));
}
