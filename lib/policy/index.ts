export {
  clamp,
  type DesiredHistory,
  desiredFromMetric,
  spreadExtra,
  stabilise,
  warmTargets,
} from './target.js';
export {
  decisionWindow,
  FIXED_POOL,
  oraclePolicy,
  predictivePolicy,
  timingPolicy,
  type WarmDecision,
  type WarmInput,
  type WarmPolicy,
  type WarmPolicyState,
} from './warm.js';
