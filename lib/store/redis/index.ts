export { createRedisStore, RedisStore, type RedisStoreOptions } from './store.js';
