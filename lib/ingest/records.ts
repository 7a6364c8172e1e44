/**
 * From Kafka records to samples: the one decode path shared by the local consumer and the Lambda handler.
 * A record that cannot be used (not JSON, not a valid payload, an unknown pool) is set aside with its
 * reason and coordinates for the dead-letter topic; it never blocks the records after it.
 */
import { decodeRecordValue, type MetricSample, type RejectReason } from '../signals/index.js';

/** A record as both hosts see it: kafkajs in the runtime, the base64-decoded event record on Lambda. */
export interface InRecord {
  topic: string;
  partition: number;
  offset: string;
  key?: Buffer | string | null;
  value: Buffer | string | null;
  /** ms since the epoch, as the broker stamped it. */
  timestamp?: string | number;
}

export interface Rejected {
  record: InRecord;
  reason: RejectReason;
  problems: string[];
}

export interface DecodedBatch {
  samples: MetricSample[];
  rejected: Rejected[];
}

/**
 * @example
 * const { samples, rejected } = decodeRecords(batch.messages.map(toInRecord), new Set(['web']));
 */
export function decodeRecords(records: readonly InRecord[], knownPools: ReadonlySet<string>): DecodedBatch {
  const samples: MetricSample[] = [];
  const rejected: Rejected[] = [];
  for (const record of records) {
    const decoded = decodeRecordValue(record.value);
    if (!decoded.ok) {
      rejected.push({ record, reason: decoded.reason, problems: decoded.problems });
      continue;
    }
    let unknown: string | undefined;
    for (const s of decoded.value) {
      if (!knownPools.has(s.pool)) {
        unknown = s.pool;
        break;
      }
    }
    if (unknown !== undefined) {
      rejected.push({ record, reason: 'unknown_pool', problems: [`pool: unknown pool "${unknown}"`] });
      continue;
    }
    for (const s of decoded.value) samples.push(s);
  }
  return { samples, rejected };
}

/** Header names on a dead-lettered record. */
export const DLQ_HEADERS = {
  reason: 'warmpool-reason',
  problems: 'warmpool-problems',
  topic: 'warmpool-source-topic',
  partition: 'warmpool-source-partition',
  offset: 'warmpool-source-offset',
} as const;

/** The dead-letter message for a rejected record: the original key and value, the reason in headers. */
export function deadLetter(r: Rejected): {
  key: Buffer | string | null;
  value: Buffer | string | null;
  headers: Record<string, string>;
} {
  return {
    key: r.record.key ?? null,
    value: r.record.value,
    headers: {
      [DLQ_HEADERS.reason]: r.reason,
      [DLQ_HEADERS.problems]: r.problems.join('\n').slice(0, 4096),
      [DLQ_HEADERS.topic]: r.record.topic,
      [DLQ_HEADERS.partition]: String(r.record.partition),
      [DLQ_HEADERS.offset]: r.record.offset,
    },
  };
}
