/**
 * The Lambda host: one controller per execution environment, built on first use from the packaged config
 * (WARMPOOL_CONFIG, else the embedded default) and reused by later invocations while the environment is
 * warm. The functions/ handlers stay thin: decode the event, call this, encode the answer.
 */

import { Partitioners } from 'kafkajs';
import { type LoadedConfig, loadConfig } from '../config/index.js';
import { Controller } from '../controller/index.js';
import { createLogger } from '../log/index.js';
import { MemoryStore } from '../store/index.js';
import { type DeadLetterSink, logDeadLetters } from './ingest.js';
import { kafkaClient, kafkaDeadLetters, kafkaSettings } from './kafka.js';
import { buildProviders, clockFor } from './providers.js';
import { buildStore } from './store.js';

let config: Promise<LoadedConfig> | undefined;
let cached: Promise<Controller> | undefined;

/** The packaged config, read once per execution environment (WARMPOOL_CONFIG, else the embedded default). */
export function lambdaConfig(env: NodeJS.ProcessEnv = process.env): Promise<LoadedConfig> {
  config ??= loadConfig({ path: env.WARMPOOL_CONFIG, env });
  config.catch(() => {
    config = undefined;
  });
  return config;
}

/** The controller of this execution environment. */
export function lambdaController(env: NodeJS.ProcessEnv = process.env): Promise<Controller> {
  cached ??= (async () => {
    const loaded = await lambdaConfig(env);
    const log = createLogger({ level: loaded.config.controller.logLevel });
    const clock = clockFor(loaded.config);
    const { store, describe } = buildStore(loaded.config, clock, env, (err) =>
      log.warn({ err: err.message }, 'redis connection error; retrying'),
    );
    if (store instanceof MemoryStore) {
      // Stateless functions need a shared store; without one each execution environment has its own state.
      log.warn(
        'no Redis configured (store.kind memory, no REDIS_URL): state lives only in this execution environment',
      );
    }
    log.info({ store: describe }, 'warmpool lambda controller ready');
    return new Controller({
      pools: loaded.pools,
      providers: buildProviders(loaded.config, clock, { log, env }),
      store,
      clock,
      events: { emit: (e) => log.info({ event: e.type, pool: e.pool, ...e.data }, `pool event: ${e.type}`) },
      log,
      owner: env.AWS_LAMBDA_LOG_STREAM_NAME ?? loaded.config.controller.id,
    });
  })();
  cached.catch(() => {
    cached = undefined;
  });
  return cached;
}

let deadLetters: Promise<DeadLetterSink> | undefined;

/**
 * Where this environment sends poison records: the dead-letter topic when KAFKA_BROKERS (or the config's
 * kafka section) names the cluster, else the log.
 */
export function lambdaDeadLetters(env: NodeJS.ProcessEnv = process.env): Promise<DeadLetterSink> {
  deadLetters ??= (async () => {
    const loaded = await lambdaConfig(env);
    const log = createLogger({ level: loaded.config.controller.logLevel });
    const settings = kafkaSettings(loaded.config.kafka, env);
    if (!settings) return logDeadLetters(log);
    const producer = kafkaClient(settings, env, log).producer({
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    await producer.connect();
    return kafkaDeadLetters(producer, settings.topics.deadLetter);
  })();
  deadLetters.catch(() => {
    deadLetters = undefined;
  });
  return deadLetters;
}

/** Forgets the cached controller (tests). */
export function resetLambdaController(): void {
  config = undefined;
  cached = undefined;
  deadLetters = undefined;
}
