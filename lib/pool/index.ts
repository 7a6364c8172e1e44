export { emit, type PoolContext, type PoolDeps } from './context.js';
export { countPool, type HostCounts, type PoolCounts } from './counts.js';
export { type DemoteResult, demote } from './demote.js';
export { type DriveOutcome, drive, retire } from './drive.js';
export { chooseHosts, launch } from './launch.js';
export { type PromoteOptions, type PromoteResult, promote } from './promote.js';
export { type ReconcileResult, reconcile } from './reconcile.js';
export {
  type HostTargets,
  planRefill,
  type RefillPlan,
  type RefillResult,
  type RefillTargets,
  refill,
  refillHasWork,
} from './refill.js';
