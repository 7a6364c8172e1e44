import { VirtualClock } from '../../lib/clock/index.js';
import { createRedisStore } from '../../lib/store/index.js';
import { describeStoreContract } from './store.contract.js';

/**
 * The store contract over real Redis servers: a standalone one (REDIS_URL) and a three-node Redis Cluster
 * (REDIS_CLUSTER_NODES), both started by infra/redis/up through `npm test`. Each test works under a prefix
 * of its own, so nothing is flushed and no test sees another's keys.
 */
let run = 0;
const prefix = () => `test-${process.pid}-${Date.now()}-${run++}:`;

function required(name: string): string {
  const v = process.env[name];
  if (!v)
    throw new Error(
      `${name} is not set: run the suite through \`npm test\`, or start Redis with infra/redis/up`,
    );
  return v;
}

describeStoreContract('redis standalone', async () => {
  const clock = new VirtualClock(1_000_000);
  const store = createRedisStore({ clock, url: required('REDIS_URL'), prefix: prefix() });
  return { store, clock, teardown: () => store.close() };
});

describeStoreContract('redis cluster', async () => {
  const clock = new VirtualClock(1_000_000);
  const store = createRedisStore({
    clock,
    clusterNodes: required('REDIS_CLUSTER_NODES').split(','),
    prefix: prefix(),
  });
  return { store, clock, teardown: () => store.close() };
});
