/**
 * One batch of Kafka records into the controller, the same for the local consumer and the Lambda handler:
 * decode, set poison records aside to the dead-letter sink, ingest the samples unless this exact batch was
 * ingested before (at-least-once delivery), and only then report the batch done so its offsets may be
 * committed.
 */
import type { Controller } from '../controller/index.js';
import { decodeRecords, type InRecord, type Rejected } from '../ingest/index.js';
import type { Logger } from '../log/index.js';

export interface DeadLetterSink {
  send(rejected: readonly Rejected[]): Promise<void>;
}

export interface BatchResult {
  records: number;
  samples: number;
  rejected: number;
  /** True when the batch had been ingested before and was skipped. */
  duplicate: boolean;
}

export async function ingestBatch(
  controller: Controller,
  part: { topic: string; partition: number; records: readonly InRecord[] },
  deadLetters: DeadLetterSink,
): Promise<BatchResult> {
  const known = new Set(controller.pools.map((p) => p.name));
  const { samples, rejected } = decodeRecords(part.records, known);
  if (rejected.length > 0) await deadLetters.send(rejected);
  const first = part.records[0]?.offset;
  const last = part.records[part.records.length - 1]?.offset;
  const key = `${part.topic}/${part.partition}/${first}-${last}`;
  let duplicate = false;
  if (samples.length > 0) {
    if (await controller.seenBatch(key)) duplicate = true;
    else {
      await controller.ingest(samples);
      await controller.markBatch(key);
    }
  }
  return { records: part.records.length, samples: samples.length, rejected: rejected.length, duplicate };
}

/** Every topic-partition of a Lambda event, one after the other (each keeps its own order). */
export async function ingestPartitions(
  controller: Controller,
  parts: ReadonlyArray<{ topic: string; partition: number; records: readonly InRecord[] }>,
  deadLetters: DeadLetterSink,
): Promise<{ records: number; samples: number; rejected: number; duplicates: number }> {
  const total = { records: 0, samples: 0, rejected: 0, duplicates: 0 };
  for (const part of parts) {
    const r = await ingestBatch(controller, part, deadLetters);
    total.records += r.records;
    total.samples += r.samples;
    total.rejected += r.rejected;
    if (r.duplicate) total.duplicates++;
  }
  return total;
}

/** Where poison records go when there is no dead-letter topic to send them to: the log, by coordinates. */
export function logDeadLetters(log: Logger): DeadLetterSink {
  return {
    async send(rejected) {
      for (const r of rejected) {
        log.warn(
          {
            topic: r.record.topic,
            partition: r.record.partition,
            offset: r.record.offset,
            reason: r.reason,
            problems: r.problems,
          },
          'metric record rejected',
        );
      }
    },
  };
}
