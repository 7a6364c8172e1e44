/**
 * The `sim` provider: a simulated OpenStack-like cloud on an injected Clock, with a latency model calibrated
 * from published figures, for tests, benchmarks and the embedded default runtime.
 */
export { SIM_API_OPS, type SimApiOp, SimCloud, type SimCloudOptions, type SimStats } from './cloud.js';
export { DEFAULT_LATENCY, type LatencyModel, memoryImageMs, resolveLatency } from './latency.js';
export { TransferPool } from './transfer.js';
