/**
 * The Lambda host: one controller per execution environment, built on first use from the packaged config
 * (WARMPOOL_CONFIG, else the embedded default) and reused by later invocations while the environment is
 * warm. The functions/ handlers stay thin: decode the event, call this, encode the answer.
 */
import { loadConfig } from '../config/index.js';
import { Controller } from '../controller/index.js';
import { createLogger } from '../log/index.js';
import { MemoryStore } from '../store/index.js';
import { buildProviders, clockFor } from './providers.js';

let cached: Promise<Controller> | undefined;

/** The controller of this execution environment. */
export function lambdaController(env: NodeJS.ProcessEnv = process.env): Promise<Controller> {
  cached ??= (async () => {
    const loaded = await loadConfig({ path: env.WARMPOOL_CONFIG, env });
    const log = createLogger({ level: loaded.config.controller.logLevel });
    if (loaded.config.store.kind === 'memory') {
      // Until a shared store is configured, state lives only as long as this execution environment.
      log.warn('store.kind is memory: on Lambda each execution environment keeps its own state');
    }
    const clock = clockFor(loaded.config);
    return new Controller({
      pools: loaded.pools,
      providers: buildProviders(loaded.config, clock),
      store: new MemoryStore(clock),
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

/** Forgets the cached controller (tests). */
export function resetLambdaController(): void {
  cached = undefined;
}
