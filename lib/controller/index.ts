export { Controller, type ControllerOptions, type PoolStatus } from './controller.js';
export {
  type Decision,
  type DecisionInput,
  decidePool,
  effectiveSpec,
  type PoolOverride,
  type PoolPolicyState,
  type WarmExtra,
} from './decision.js';
