/**
 * The local runtime: wires config, providers, store, clock and controller, and drives the controller with
 * timers (decision ticks, reconcile, the synthetic stream) and an HTTP server. It is the host for
 * `warmpool run`; on AWS, Lambda hosts the same lib/ code through functions/.
 */
import type { AddressInfo } from 'node:net';
import type { Cancel, Clock } from '../clock/index.js';
import type { KafkaConfig, LoadedConfig } from '../config/index.js';
import { Controller } from '../controller/index.js';
import { type EventSink, FanOutSink, type PoolEvent } from '../events/index.js';
import type { Logger } from '../log/index.js';
import type { CloudProvider } from '../providers/index.js';
import { syntheticSamples } from '../signals/index.js';
import type { StateStore } from '../store/index.js';
import { createHttpServer } from './http.js';
import { kafkaSettings, startKafka } from './kafka.js';
import { buildProviders, clockFor } from './providers.js';
import { watchConfig } from './reload.js';
import { buildStore } from './store.js';
import { webhookSecrets } from './webhooks.js';

export interface RuntimeOptions {
  loaded: LoadedConfig;
  log: Logger;
  /** Overrides controller.http.port (0 picks a free port). */
  port?: number;
  host?: string;
  /** Turn the synthetic metric stream off even when the config enables it. */
  synthetic?: boolean;
  /** Inject a clock (tests); by default the wall clock, sped up when every sim provider asks for it. */
  clock?: Clock;
  /** Inject a store; by default the one buildStore picks from the config and environment. */
  store?: StateStore;
  /**
   * Where REDIS_URL, REDIS_CLUSTER_NODES, KAFKA_BROKERS and KAFKA_SASL_PASSWORD are read from; none when
   * not given (the CLI passes its own).
   */
  env?: NodeJS.ProcessEnv;
  events?: EventSink;
  /** The config file `loaded` came from: watched, and its valid changes to the pools applied (hot reload). */
  configPath?: string;
}

export interface Runtime {
  controller: Controller;
  clock: Clock;
  providers: ReadonlyMap<string, CloudProvider>;
  store: StateStore;
  /** Where the HTTP server listens. */
  url: string;
  stop(): Promise<void>;
}

/** Counts warm hits and cold misses per pool from the promotion events. */
export class PromotionCounter implements EventSink {
  readonly byPool = new Map<string, { warmHits: number; coldMisses: number }>();

  emit(event: PoolEvent): void {
    if (event.type !== 'promoted') return;
    const c = this.byPool.get(event.pool) ?? { warmHits: 0, coldMisses: 0 };
    c.warmHits += Number(event.data.warmHits ?? 0);
    c.coldMisses += Number(event.data.coldMisses ?? 0);
    this.byPool.set(event.pool, c);
  }
}

/** Describes what runs, for the first log line: an operator must see at once whether this is real. */
export function describeSetup(
  loaded: LoadedConfig,
  synthetic: boolean,
  store: string,
  kafka?: KafkaConfig,
): string {
  const providers = Object.entries(loaded.config.providers).map(([name, p]) =>
    p.kind === 'sim'
      ? `${name}: simulated cloud${p.speed === 1 ? '' : ` at ${p.speed}x real time`}`
      : `${name}: ${p.kind}`,
  );
  const parts = [
    loaded.source === 'embedded default' ? 'embedded default' : `config ${loaded.source}`,
    providers.join(', '),
    store,
    kafka
      ? `metrics from Kafka topic ${kafka.topics.metrics} (${kafka.brokers.length} brokers)`
      : synthetic
        ? 'synthetic metric stream'
        : 'metrics from POST /metrics',
  ];
  return parts.join('; ');
}

/**
 * Starts the runtime and resolves once the HTTP server listens.
 *
 * @example
 * const rt = await startRuntime({ loaded: await loadConfig({}), log: createLogger(), port: 0 });
 * await rt.stop();
 */
export async function startRuntime(options: RuntimeOptions): Promise<Runtime> {
  const { loaded, log } = options;
  const { config } = loaded;
  const clock = options.clock ?? clockFor(config);
  const providers = buildProviders(config, clock, { log, ...(options.env ? { env: options.env } : {}) });
  const store = options.store ?? buildStore(config, clock, options.env ?? {}).store;
  const counter = new PromotionCounter();
  // The events topic's sink exists only once Kafka is connected, after the controller.
  let toKafka: EventSink | undefined;
  const events = new FanOutSink([
    counter,
    { emit: (e) => log.info({ event: e.type, pool: e.pool, ...e.data }, `pool event: ${e.type}`) },
    { emit: (e) => toKafka?.emit(e) },
    ...(options.events ? [options.events] : []),
  ]);
  const controller = new Controller({
    pools: loaded.pools,
    providers,
    store,
    clock,
    events,
    log,
    owner: config.controller.id,
    promotions: counter.byPool,
  });

  const timers: Cancel[] = [];
  let ticking = false;
  const tick = () => {
    if (ticking) return;
    ticking = true;
    controller
      .tick()
      .catch((err: unknown) => log.error({ err: String(err) }, 'tick failed'))
      .finally(() => {
        ticking = false;
      });
  };
  const env = options.env ?? {};
  const kafkaConfig = kafkaSettings(config.kafka, env);
  const kafka = kafkaConfig ? await startKafka({ controller, settings: kafkaConfig, env, log }) : undefined;
  toKafka = kafka?.events;
  // Metrics from Kafka replace the demo stream unless it is asked for by name.
  const synthetic = options.synthetic ?? (config.synthetic.enabled && !kafka);
  if (synthetic) {
    const origin = clock.now();
    const period = config.synthetic.periodSeconds * 1000;
    timers.push(
      clock.every(1000, () => {
        void controller
          // The pools in force: a config reload may have changed them.
          .ingest(syntheticSamples(controller.pools, clock.now(), period, origin))
          .catch((err: unknown) => log.error({ err: String(err) }, 'synthetic ingest failed'));
      }),
    );
  }
  timers.push(clock.every(config.controller.tickSeconds * 1000, tick));
  timers.push(
    clock.every(30_000, () => {
      controller.reconcileAll().catch((err: unknown) => log.error({ err: String(err) }, 'reconcile failed'));
    }),
  );

  const server = createHttpServer(controller, {
    webhooks: { secrets: webhookSecrets(env), config: config.webhooks },
    admin: { token: env.WARMPOOL_ADMIN_TOKEN, log },
  });
  const host = options.host ?? config.controller.http.host;
  const port = options.port ?? config.controller.http.port;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const url = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;

  const watcher = options.configPath
    ? watchConfig({ path: options.configPath, current: loaded, controller, log, env })
    : undefined;

  let stopped: Promise<void> | undefined;
  // Fill the pools from the start rather than at the first tick: reconcile with the cloud, then decide. In the
  // background, so that this resolves once the server listens: listing a cloud takes its time (and on an
  // injected virtual clock, time that nobody advances until this has resolved).
  void controller
    .reconcileAll()
    .catch((err: unknown) => log.error({ err: String(err) }, 'reconcile failed'))
    .then(() => {
      if (!stopped) tick();
    });

  const stop = () => {
    stopped ??= (async () => {
      watcher?.close();
      for (const cancel of timers) cancel();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      // Stop taking metrics first, so no batch is half-done when the controller stops.
      await kafka?.stop();
      await controller.stop();
      await store.close();
    })();
    return stopped;
  };
  return { controller, clock, providers, store, url, stop };
}
