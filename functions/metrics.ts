/**
 * Kafka metrics on Lambda: the MSK and self-managed Kafka event sources invoke this with records grouped
 * by topic-partition. Same decode and ingest path as the local consumer; poison records go to the
 * dead-letter topic (when KAFKA_BROKERS names the cluster) or to the log with their coordinates.
 */
import { recordsOfEvent } from '../lib/ingest/index.js';
import { ingestPartitions, lambdaController, lambdaDeadLetters } from '../lib/runtime/index.js';

export async function handler(event: unknown) {
  const controller = await lambdaController();
  return ingestPartitions(controller, recordsOfEvent(event), await lambdaDeadLetters());
}
