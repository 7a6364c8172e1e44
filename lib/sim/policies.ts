/**
 * The policies the simulator compares, each a way to size the same pool:
 * - `reactive`: no pool; every scale-out is a cold launch (Heat/Aodh or Senlin scaling).
 * - `static[:N]`: N warm instances on every host at all times (an AWS warm pool with a fixed minimum). Without
 *   N, the smallest N that serves the target share of scale-out from warm, found by search, so the
 *   comparison with `predictive` is at equal service.
 * - `predictive[:KIND]`: warmpool's rule with the pool's forecaster (or KIND: holt, holt-winters, burst).
 * - `oracle`: a clairvoyant pool that holds exactly the largest rise the coming lead time brings.
 * - `timing[:N]`: a half-clairvoyant pool that knows when a rise comes but not its size: N warm instances
 *   before every rise, none otherwise; without N, the smallest N that serves the target share. Not run by
 *   default: it is the yardstick for how far from the oracle a pool must stay that does not know the size.
 */
import { FORECAST_KINDS, type ForecastKind, type PoolSpec } from '../domain/index.js';
import { desiredFromMetric, oraclePolicy, timingPolicy, type WarmPolicy } from '../policy/index.js';

export type PolicyName = 'reactive' | 'static' | 'predictive' | 'oracle' | 'timing';
/** Every policy the simulator knows. */
export const POLICY_NAMES: readonly PolicyName[] = ['reactive', 'static', 'predictive', 'oracle', 'timing'];
/** What `warmpool simulate` compares when no policy is named. */
export const DEFAULT_POLICIES: readonly PolicyName[] = ['reactive', 'static', 'predictive', 'oracle'];

export interface PolicyChoice {
  /** As given: `static`, `static:2`, `predictive:burst` … */
  label: string;
  name: PolicyName;
  /** static: warm instances per host; undefined means search. */
  perHost?: number;
  /** timing: warm instances held before a rise; undefined means search. */
  size?: number;
  /** predictive: the forecaster, instead of the pool's. */
  forecast?: ForecastKind;
}

export class PolicyError extends Error {
  override readonly name = 'PolicyError';
}

/**
 * Reads `--policy` values.
 * @example parsePolicy('static:2') // { label: 'static:2', name: 'static', perHost: 2 }
 */
export function parsePolicy(text: string): PolicyChoice {
  const [name, arg, extra] = text.split(':');
  const bad = (why: string) => new PolicyError(`--policy ${text}: ${why}`);
  if (extra !== undefined) throw bad('expected NAME or NAME:ARG');
  switch (name) {
    case 'reactive':
    case 'oracle':
      if (arg !== undefined) throw bad(`${name} takes no argument`);
      return { label: text, name };
    case 'static':
    case 'timing': {
      if (arg === undefined) return { label: text, name };
      const n = Number(arg);
      const what = name === 'static' ? 'the warm instances per host' : 'the warm instances before a rise';
      if (!Number.isInteger(n) || n < 0) throw bad(`${what} must be an integer ≥ 0`);
      return name === 'static' ? { label: text, name, perHost: n } : { label: text, name, size: n };
    }
    case 'predictive': {
      if (arg === undefined) return { label: text, name };
      if (!(FORECAST_KINDS as readonly string[]).includes(arg) || arg === 'none') {
        throw bad(
          `unknown forecaster "${arg}" (one of: ${FORECAST_KINDS.filter((k) => k !== 'none').join(', ')})`,
        );
      }
      return { label: text, name, forecast: arg as ForecastKind };
    }
    default:
      throw bad(`unknown policy "${name}" (one of: ${POLICY_NAMES.join(', ')})`);
  }
}

/** The pool with `perHost` warm instances on every host, always, and no forecast. */
export function staticSpec(base: PoolSpec, perHost: number): PoolSpec {
  return {
    ...base,
    hosts: base.hosts.map((h) => ({ ...h, min: perHost, target: perHost, max: perHost })),
    bounds: { ...base.bounds, maxWarm: perHost * base.hosts.length },
    forecast: { ...base.forecast, kind: 'none' },
  };
}

/** The pool as one policy runs it, and the warm policy that replaces its forecast (the oracle's). */
export function specFor(
  base: PoolSpec,
  choice: PolicyChoice,
  demand: Int32Array,
  stepMs: number,
): { spec: PoolSpec; warmPolicy?: (spec: PoolSpec) => WarmPolicy } {
  // Pool-keeping policies start from no per-host floor: what they hold is what their rule asks for.
  const open: PoolSpec = { ...base, hosts: base.hosts.map((h) => ({ ...h, min: 0, target: 0 })) };
  switch (choice.name) {
    case 'reactive':
      return { spec: staticSpec(base, 0) };
    case 'static':
      return { spec: staticSpec(base, choice.perHost ?? 0) };
    case 'predictive':
      return {
        spec: choice.forecast ? { ...open, forecast: { ...open.forecast, kind: choice.forecast } } : open,
      };
    case 'oracle':
      return { spec: open, warmPolicy: () => oraclePolicy(demandAt(open, demand, stepMs)) };
    case 'timing': {
      const size = choice.size ?? 0;
      return { spec: open, warmPolicy: () => timingPolicy(demandAt(open, demand, stepMs), size) };
    }
  }
}

/** The trace's demand at a time, in instances as the pool counts them: what the clairvoyant policies see. */
function demandAt(spec: PoolSpec, demand: Int32Array, stepMs: number): (t: number) => number {
  return (t) => desiredFromMetric(spec, demand[Math.min(demand.length - 1, Math.floor(t / stepMs))]!);
}
