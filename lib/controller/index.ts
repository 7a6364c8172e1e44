export {
  Controller,
  type ControllerOptions,
  effectiveSpec,
  type PoolOverride,
  type PoolPolicyState,
  type PoolStatus,
} from './controller.js';
