import { afterEach, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../lib/clock/index.js';
import { parseConfig } from '../../lib/config/index.js';
import { buildStore, type StoreChoice } from '../../lib/runtime/index.js';
import { MemoryStore, RedisStore } from '../../lib/store/index.js';

const base = { pools: [] };
const opened: StoreChoice[] = [];
const choose = (raw: object, env: NodeJS.ProcessEnv) => {
  const choice = buildStore(parseConfig({ ...base, ...raw }, 'test').config, new VirtualClock(), env);
  opened.push(choice);
  return choice;
};

describe('buildStore: which store the runtime uses', () => {
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((c) => c.store.close()));
  });

  it('keeps the embedded default in memory', () => {
    const c = choose({}, {});
    expect(c.store).toBeInstanceOf(MemoryStore);
    expect(c.describe).toBe('in-memory store (state is lost on exit)');
  });

  it('REDIS_URL switches any config to Redis, and the description never holds the URL', () => {
    const c = choose({}, { REDIS_URL: 'redis://:hunter2@127.0.0.1:1' });
    expect(c.store).toBeInstanceOf(RedisStore);
    expect(c.describe).toBe('redis store (from REDIS_URL)');
    expect(c.describe).not.toContain('hunter2');
  });

  it('REDIS_CLUSTER_NODES switches to a Redis Cluster', () => {
    const c = choose({}, { REDIS_CLUSTER_NODES: '127.0.0.1:1, 127.0.0.1:2' });
    expect(c.store).toBeInstanceOf(RedisStore);
    expect(c.describe).toBe('redis cluster store (2 seed nodes, from REDIS_CLUSTER_NODES)');
  });

  it('follows the config when the environment names no Redis', () => {
    expect(choose({ store: { kind: 'redis', url: 'redis://127.0.0.1:1' } }, {}).describe).toBe('redis store');
    expect(choose({ store: { kind: 'redis', cluster: ['127.0.0.1:1'] } }, {}).describe).toBe(
      'redis cluster store (1 seed node)',
    );
  });
});
