export { assertCount, pickForPromotion } from './claim-order.js';
export { MemoryStore } from './memory.js';
export type {
  Claim,
  ClaimRequest,
  NewInstance,
  PoolStateEnvelope,
  StateStore,
  TransitionRequest,
  TransitionResult,
} from './port.js';
export { createRedisStore, RedisStore, type RedisStoreOptions } from './redis/index.js';
