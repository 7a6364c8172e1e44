/**
 * Demand forecasters: pure functions over small JSON-serialisable states, each answering "what is the highest
 * demand over the coming horizon", as a point and an upper bound at a quantile.
 *
 * @example
 * const f = makeForecaster({ kind: 'holt-winters', horizonMs: 300_000, intervalMs: 10_000 });
 * let s = f.restore(stored);           // the stored state, or a fresh one if it does not fit this config
 * s = f.update(s, demand, closedAt);
 * const { point, upper } = f.peak(s, now, 300_000, 0.995);
 */
import { type BurstState, burstForecaster } from './burst.js';
import { type HoltForecastState, holtForecaster } from './holt.js';
import { type HoltWintersState, holtWintersForecaster } from './holt-winters.js';
import type { Forecaster, ForecastSpec } from './types.js';

export { type BurstParams, type BurstState, burstForecaster, burstParams } from './burst.js';
export { type DecayedHistogram, HISTOGRAM_BINS } from './histogram.js';
export {
  type HoltForecastParams,
  type HoltForecastState,
  type HoltParams,
  type HoltState,
  holtForecast,
  holtForecaster,
  holtForecastParams,
  holtUpdate,
} from './holt.js';
export {
  type HoltWintersParams,
  type HoltWintersState,
  holtWintersForecaster,
  holtWintersParams,
} from './holt-winters.js';
export type { PeakSpread } from './spread.js';
export {
  type Forecaster,
  type ForecastKind,
  type ForecastOptions,
  type ForecastSpec,
  ForecastSpecError,
  type PeakForecast,
} from './types.js';
export { type TimeWindow, WINDOW_SLOTS } from './window.js';

/** The state of any forecaster; `kind` tells which. */
export type ForecastState = HoltForecastState | HoltWintersState | BurstState;

/**
 * The forecaster a spec names, with the spec's options and the kind's defaults for the rest. Throws a
 * ForecastSpecError naming the field for an option out of range.
 */
export function makeForecaster(spec: ForecastSpec & { kind: 'holt' }): Forecaster<HoltForecastState>;
export function makeForecaster(spec: ForecastSpec & { kind: 'holt-winters' }): Forecaster<HoltWintersState>;
export function makeForecaster(spec: ForecastSpec & { kind: 'burst' }): Forecaster<BurstState>;
export function makeForecaster(spec: ForecastSpec): Forecaster<ForecastState>;
export function makeForecaster(spec: ForecastSpec): Forecaster<ForecastState> {
  switch (spec.kind) {
    case 'holt':
      return holtForecaster(spec) as Forecaster<ForecastState>;
    case 'holt-winters':
      return holtWintersForecaster(spec) as Forecaster<ForecastState>;
    case 'burst':
      return burstForecaster(spec) as Forecaster<ForecastState>;
  }
}
