export {
  Controller,
  type ControllerOptions,
  effectiveSpec,
  type PoolOverride,
  type PoolPolicyState,
  type PoolStatus,
  type WarmExtra,
} from './controller.js';
