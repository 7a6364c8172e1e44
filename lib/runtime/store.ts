import type { Clock } from '../clock/index.js';
import type { WarmpoolConfig } from '../config/index.js';
import { createRedisStore, MemoryStore, type StateStore } from '../store/index.js';

export interface StoreChoice {
  store: StateStore;
  /** What runs, for the first log line; never the URL (it may hold a password). */
  describe: string;
}

/**
 * The store the config asks for, unless the environment names a Redis: `REDIS_CLUSTER_NODES`
 * (comma-separated host:port) or `REDIS_URL` switch any config, the embedded default included, to Redis.
 */
export function buildStore(
  config: Pick<WarmpoolConfig, 'store'>,
  clock: Clock,
  env: NodeJS.ProcessEnv,
  onError?: (err: Error) => void,
): StoreChoice {
  const nodes = env.REDIS_CLUSTER_NODES?.split(',')
    .map((n) => n.trim())
    .filter(Boolean);
  const url = env.REDIS_URL;
  const prefix = config.store.kind === 'redis' ? config.store.prefix : 'warmpool:';
  if (nodes && nodes.length > 0) {
    return {
      store: createRedisStore({ clock, clusterNodes: nodes, prefix, onError }),
      describe: `redis cluster store (${seeds(nodes.length)}, from REDIS_CLUSTER_NODES)`,
    };
  }
  if (url)
    return {
      store: createRedisStore({ clock, url, prefix, onError }),
      describe: 'redis store (from REDIS_URL)',
    };
  if (config.store.kind === 'redis') {
    if (config.store.cluster) {
      return {
        store: createRedisStore({ clock, clusterNodes: config.store.cluster, prefix, onError }),
        describe: `redis cluster store (${seeds(config.store.cluster.length)})`,
      };
    }
    return {
      store: createRedisStore({ clock, url: config.store.url!, prefix, onError }),
      describe: 'redis store',
    };
  }
  return { store: new MemoryStore(clock), describe: 'in-memory store (state is lost on exit)' };
}

const seeds = (n: number) => `${n} seed node${n === 1 ? '' : 's'}`;
