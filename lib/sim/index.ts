/**
 * The what-if simulator: a demand trace replayed on the virtual clock through the real controller and pool
 * code on the sim cloud, under the policies warmpool is compared with.
 */
export { type Measured, Meter, quantile } from './meter.js';
export { ObservedStore, type StateChange } from './observe.js';
export { plotSvg } from './plot.js';
export {
  DEFAULT_POLICIES,
  POLICY_NAMES,
  type PolicyChoice,
  PolicyError,
  type PolicyName,
  parsePolicy,
  specFor,
  staticSpec,
} from './policies.js';
export {
  fixedCovering,
  type Observable,
  type OnlineSizing,
  observables,
  onlineSizing,
  type RiseModel,
  riseModel,
  risesByRow,
} from './rises.js';
export {
  type RunInput,
  type RunResult,
  runTrace,
  type Series,
  SIM_METRIC,
  type SimCloudSpec,
} from './run.js';
export {
  DEFAULT_LEAD_SECONDS,
  DEFAULT_PEAK_INSTANCES,
  DEFAULT_TARGET_PCT,
  defaultSimConfig,
  type PolicyReport,
  type SimulateOptions,
  type SimulateReport,
  searchSmallest,
  simulate,
} from './simulate.js';
export { type DemandScale, loadTrace, parseTrace, type Trace, TraceError, toDemand } from './trace.js';
