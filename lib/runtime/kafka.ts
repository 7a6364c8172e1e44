/**
 * The local runtime's Kafka side: a consumer group on the metrics topic and a producer for the dead-letter
 * and events topics. At-least-once: a batch's offsets are resolved and committed only after its samples
 * are merged into the store and its poison records are on the dead-letter topic; a batch seen before is
 * not ingested twice. While too many pool operations are in flight, the partition pauses (backpressure).
 */
import { randomUUID } from 'node:crypto';
import {
  type Consumer,
  type ConsumerRunConfig,
  Kafka,
  type KafkaConfig as KafkaClientConfig,
  logLevel,
  Partitioners,
  type Producer,
  type SASLOptions,
} from 'kafkajs';
import type { KafkaConfig } from '../config/index.js';
import type { Controller } from '../controller/index.js';
import type { EventSink, PoolEvent } from '../events/index.js';
import { deadLetter, type InRecord } from '../ingest/index.js';
import type { Logger } from '../log/index.js';
import { type DeadLetterSink, ingestBatch } from './ingest.js';

export interface KafkaRuntime {
  /** Sends warmpool's events to the events topic as CloudEvents. */
  events: EventSink;
  stop(): Promise<void>;
}

/** The Kafka settings from the config, or from KAFKA_BROKERS when the config has none. */
export function kafkaSettings(
  config: KafkaConfig | undefined,
  env: NodeJS.ProcessEnv,
): KafkaConfig | undefined {
  const brokers = env.KAFKA_BROKERS?.split(',')
    .map((b) => b.trim())
    .filter(Boolean);
  if (brokers && brokers.length > 0) {
    return {
      clientId: 'warmpool',
      groupId: 'warmpool',
      topics: { metrics: 'warmpool.metrics', deadLetter: 'warmpool.metrics.dlq', events: 'warmpool.events' },
      createTopics: false,
      ssl: false,
      maxInFlight: 256,
      ...config,
      brokers,
    };
  }
  return config;
}

/** kafkajs logs through ours, at warn and above: its info lines are per-connection chatter. */
function logCreator(log: Logger) {
  return () =>
    ({ level, log: entry }: { level: number; log: { message: string } & Record<string, unknown> }) => {
      const { message, ...rest } = entry;
      if (level === logLevel.ERROR || level === logLevel.NOTHING) log.error({ kafka: rest }, message);
      else if (level === logLevel.WARN) log.warn({ kafka: rest }, message);
    };
}

function clientConfig(settings: KafkaConfig, env: NodeJS.ProcessEnv, log: Logger): KafkaClientConfig {
  let sasl: SASLOptions | undefined;
  if (settings.sasl) {
    const password = env.KAFKA_SASL_PASSWORD;
    if (!password) throw new Error('kafka.sasl is set but KAFKA_SASL_PASSWORD is not');
    sasl = { mechanism: settings.sasl.mechanism, username: settings.sasl.username, password } as SASLOptions;
  }
  return {
    clientId: settings.clientId,
    brokers: settings.brokers,
    ssl: settings.ssl,
    ...(sasl ? { sasl } : {}),
    logLevel: logLevel.WARN,
    logCreator: logCreator(log),
    retry: { retries: 8, initialRetryTime: 200, maxRetryTime: 5_000 },
  };
}

/** A CloudEvent 1.0 (structured mode) for one of warmpool's events. */
export function toCloudEvent(event: PoolEvent, source: string): Record<string, unknown> {
  return {
    specversion: '1.0',
    id: randomUUID(),
    source,
    type: `io.warmpool.${event.type}`,
    subject: event.pool,
    time: new Date(event.time).toISOString(),
    datacontenttype: 'application/json',
    data: event.data,
  };
}

/**
 * Connects, subscribes and starts consuming. Resolves once the consumer runs.
 *
 * @example
 * const kafka = await startKafka({ controller, settings, env: process.env, log });
 * await kafka.stop();
 */
export async function startKafka(options: {
  controller: Controller;
  settings: KafkaConfig;
  env: NodeJS.ProcessEnv;
  log: Logger;
}): Promise<KafkaRuntime> {
  const { controller, settings, log } = options;
  const kafka = kafkaClient(settings, options.env, log);
  if (settings.createTopics) {
    const admin = kafka.admin();
    await admin.connect();
    try {
      await admin.createTopics({
        topics: [settings.topics.metrics, settings.topics.deadLetter, settings.topics.events].map(
          (topic) => ({ topic }),
        ),
      });
    } finally {
      await admin.disconnect();
    }
  }
  const producer: Producer = kafka.producer({
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  await producer.connect();
  const sessionTimeout = settings.sessionTimeoutMs ?? 30_000;
  const consumer: Consumer = kafka.consumer({
    groupId: settings.groupId,
    allowAutoTopicCreation: false,
    sessionTimeout,
    heartbeatInterval: Math.min(3_000, Math.floor(sessionTimeout / 3)),
    maxWaitTimeInMs: settings.maxWaitTimeMs ?? 5_000,
  });
  await consumer.connect();
  await consumer.subscribe({ topics: [settings.topics.metrics], fromBeginning: false });

  const deadLetters = kafkaDeadLetters(producer, settings.topics.deadLetter);
  const source = `warmpool/${controller.owner}`;
  let pending: Array<{ key: string; value: string }> = [];
  let flushing: Promise<void> = Promise.resolve();
  const flush = () => {
    if (pending.length === 0) return flushing;
    const messages = pending;
    pending = [];
    flushing = flushing
      .then(() => producer.send({ topic: settings.topics.events, messages }))
      .then(() => undefined)
      .catch((err: unknown) =>
        log.warn({ err: String(err), lost: messages.length }, 'could not send events'),
      );
    return flushing;
  };
  const flushTimer = setInterval(() => void flush(), 100);
  const events: EventSink = {
    emit(event) {
      pending.push({ key: event.pool, value: JSON.stringify(toCloudEvent(event, source)) });
      if (pending.length >= 500) void flush();
    },
  };

  const run: ConsumerRunConfig = {
    eachBatchAutoResolve: false,
    autoCommit: true,
    eachBatch: async ({
      batch,
      resolveOffset,
      heartbeat,
      commitOffsetsIfNecessary,
      pause,
      isRunning,
      isStale,
    }) => {
      if (batch.isEmpty() || !isRunning() || isStale()) return;
      if (controller.busy > settings.maxInFlight) {
        // Backpressure: stop fetching this partition until the pool operations drain; the batch is fetched
        // again from its first unresolved offset.
        const resume = pause();
        const wait = setInterval(() => {
          if (controller.busy <= settings.maxInFlight / 2) {
            clearInterval(wait);
            resume();
          }
        }, 100);
        return;
      }
      const records: InRecord[] = batch.messages.map((m) => ({
        topic: batch.topic,
        partition: batch.partition,
        offset: m.offset,
        key: m.key,
        value: m.value,
        timestamp: m.timestamp,
      }));
      await ingestBatch(controller, { topic: batch.topic, partition: batch.partition, records }, deadLetters);
      resolveOffset(batch.lastOffset());
      await commitOffsetsIfNecessary();
      await heartbeat();
    },
  };

  // kafkajs restarts a crashed consumer by itself only after a retriable error; after any other (a broker
  // answering INVALID_REQUEST to a SyncGroup, an authorization error) it leaves the group for good, and the
  // runtime would go on serving without metrics. Start it again after a pause (doubling up to 30 s, back to
  // 1 s once a join succeeds), unless stopping.
  let stopping = false;
  let restartDelay = 1_000;
  let restartTimer: NodeJS.Timeout | undefined;
  let restarting: Promise<void> = Promise.resolve();
  const restart = () => {
    restartTimer = undefined;
    restarting = (async () => {
      await consumer.connect();
      if (!stopping) await consumer.run(run);
    })().catch((err: unknown) => {
      log.error({ err: String(err) }, 'kafka consumer restart failed');
      scheduleRestart();
    });
  };
  const scheduleRestart = () => {
    if (stopping || restartTimer) return;
    log.warn({ inMs: restartDelay }, 'kafka consumer will start again');
    restartTimer = setTimeout(restart, restartDelay);
    restartDelay = Math.min(30_000, restartDelay * 2);
  };
  consumer.on(consumer.events.GROUP_JOIN, () => {
    restartDelay = 1_000;
  });
  consumer.on(consumer.events.CRASH, (e) => {
    log.error({ err: String(e.payload.error), restart: e.payload.restart }, 'kafka consumer crashed');
    if (!e.payload.restart) scheduleRestart();
  });
  // Not awaited: joining the group can wait out a dead member's session (tens of seconds), and the HTTP
  // server should not wait with it. Failures surface in the log and through the crash listener.
  consumer.run(run).catch((err: unknown) => log.error({ err: String(err) }, 'kafka consumer stopped'));

  return {
    events,
    async stop() {
      stopping = true;
      clearTimeout(restartTimer);
      clearInterval(flushTimer);
      await restarting;
      await consumer
        .disconnect()
        .catch((err: unknown) => log.warn({ err: String(err) }, 'consumer disconnect'));
      await flush();
      await producer
        .disconnect()
        .catch((err: unknown) => log.warn({ err: String(err) }, 'producer disconnect'));
    },
  };
}

/** Sends rejected records to the dead-letter topic, awaited: the batch is not done until they are there. */
export function kafkaDeadLetters(producer: Producer, topic: string): DeadLetterSink {
  return {
    async send(rejected) {
      await producer.send({ topic, messages: rejected.map(deadLetter) });
    },
  };
}

/** A kafkajs client from settings (Lambda's dead-letter producer uses it too). */
export function kafkaClient(settings: KafkaConfig, env: NodeJS.ProcessEnv, log: Logger): Kafka {
  return new Kafka(clientConfig(settings, env, log));
}
