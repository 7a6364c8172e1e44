/**
 * One pool's decision as a pure function: from the pool's stored policy state, its last intervals of
 * demand and its instances counted per host, to how many instances should serve, the warm target of every
 * host, and the state to store for the next decision. The Controller reads the inputs from the store, calls
 * this, writes the state back and acts; bench:decide times it alone.
 */
import type { InstanceRecord, IntervalStats, PoolSpec } from '../domain/index.js';
import {
  type DesiredHistory,
  desiredFromMetric,
  spreadExtra,
  stabilise,
  type WarmPolicy,
  type WarmPolicyState,
} from '../policy/index.js';
import { countPool, type HostTargets, type PoolCounts } from '../pool/index.js';
import { reduce } from '../signals/index.js';

/** What a host counts as free before this pool's instances on it are taken off (spreadExtra's spread). */
const LOAD_ROOM = 1_000_000;

/** What the controller keeps per pool in the store between ticks. */
export interface PoolPolicyState {
  desired: number;
  history: DesiredHistory;
  /** The warm policy's own state (its forecaster's). */
  forecast?: WarmPolicyState;
  /** Start of the last closed interval the forecast learned from. */
  forecastAt?: number;
  /** What the forecast added to the warm pool, held like scale-in over the stabilisation window. */
  extraHistory?: DesiredHistory;
  /**
   * Warm instances aimed for over all hosts: shown in status, and what the next decision measures the pool's
   * shortfall against.
   */
  warmTarget?: number;
  /**
   * What the last decision asked for beyond the per-host targets: a refill run elsewhere (a scheduled
   * Lambda) spreads it as this controller would, rather than trimming the pool to the configured targets.
   */
  warmExtra?: WarmExtra;
  /** Last metric value folded in, so a quiet interval keeps the last known load. */
  lastValue?: number;
  /** A manual override (admin API, CLI): wins over the config and the forecast until cleared. */
  override?: PoolOverride;
  /**
   * Demand floors by source (a firing alert, a generic webhook, a manual promote): desired never goes below
   * the highest. A resolved alert releases its floor; scale-in then follows the pool's policy.
   */
  holds?: Record<string, number>;
}

/** What an operator can set by hand for a pool. */
export interface PoolOverride {
  /** Warm instances every host keeps, instead of the configured targets and the forecast. */
  warmPerHost?: number;
  /** Instances in service at least. */
  min?: number;
  /** Instances in service at most. */
  max?: number;
}

/** The pool's spec with an override applied: bounds moved, and every host's warm target set. */
export function effectiveSpec(spec: PoolSpec, override: PoolOverride | undefined): PoolSpec {
  if (!override || Object.keys(override).length === 0) return spec;
  const minActive = override.min ?? spec.bounds.minActive;
  const maxActive = Math.max(minActive, override.max ?? spec.bounds.maxActive);
  const w = override.warmPerHost;
  const hosts =
    w === undefined
      ? spec.hosts
      : spec.hosts.map((h) => ({ ...h, min: Math.min(h.min, w), target: w, max: Math.max(h.max, w) }));
  const maxWarm = w === undefined ? spec.bounds.maxWarm : Math.max(spec.bounds.maxWarm, w * hosts.length);
  return { ...spec, hosts, bounds: { minActive, maxActive, maxWarm } };
}

/** Warm instances beyond the per-host targets: to launch for, and to keep before trimming (≥ launch). */
export interface WarmExtra {
  launch: number;
  keep: number;
}

/** The configured per-host targets alone: before a decision, or under a manual warm-per-host. */
export const NO_EXTRA: WarmExtra = { launch: 0, keep: 0 };

/**
 * Each host's warm targets: its configured target, plus the pool's extra spread first over the hosts that
 * already hold instances beyond their target, then over the hosts this pool loads least (a stand-in for
 * free capacity that costs no call to the cloud; refill checks the real room). One spread for what to
 * launch for, one for what to keep.
 */
export function hostTargets(spec: PoolSpec, extra: WarmExtra, counts: PoolCounts): HostTargets {
  // countPool lists the spec's hosts first, in config order: the arrays spreadExtra takes.
  const hosts = counts.hosts.slice(0, spec.hosts.length);
  const load = hosts.map((h) => LOAD_ROOM - (h.active + h.warm + h.booting + h.promoting));
  const held = hosts.map((h) => h.warm + h.booting + h.returning);
  const asMap = (targets: readonly number[]) => new Map(spec.hosts.map((h, i) => [h.name, targets[i]!]));
  const launch = asMap(spreadExtra(spec, extra.launch, load, held));
  // Most decisions keep what they launch for: one spread serves both.
  return {
    launch,
    keep: extra.keep === extra.launch ? launch : asMap(spreadExtra(spec, extra.keep, load, held)),
  };
}

/** The targets a refill works out on the records it decides on. */
export function targetRule(
  spec: PoolSpec,
  extra: WarmExtra,
): (records: readonly InstanceRecord[]) => HostTargets {
  return (records) => hostTargets(spec, extra, countPool(spec, records));
}

/** What one decision reads. */
export interface DecisionInput {
  /** The pool's spec with its override applied (effectiveSpec). */
  spec: PoolSpec;
  now: number;
  /** The state the last decision stored. */
  prev: PoolPolicyState | undefined;
  /** Start of the interval that closed last, and its samples, if any came. */
  closedAt: number;
  closed: IntervalStats | undefined;
  /** The interval still open, if samples came: it holds scale-in above what it already asks. */
  open: IntervalStats | undefined;
  /** The value of an open interval that already asks for more than the last decision: decide on it now. */
  breach: number | undefined;
  counts: PoolCounts;
  warmPolicy: WarmPolicy;
}

export interface Decision {
  /** Instances that should serve. */
  desired: number;
  /** What the policy asked for beyond the per-host targets. */
  extra: WarmExtra;
  /** Each host's warm target: to launch for, and to keep before trimming. */
  targets: HostTargets;
  /** The state to store for the next decision. */
  next: PoolPolicyState;
}

/**
 * Decides for one pool: target tracking on the last closed interval (or the breach), the demand floors and
 * the scale-in stabilisation window; the warm policy (its forecaster learns once per closed interval); the
 * extras spread over the hosts.
 */
export function decidePool(input: DecisionInput): Decision {
  const { spec, now, prev, closedAt, closed, open, breach, counts, warmPolicy } = input;
  const value = breach ?? (closed ? reduce(closed, spec.capacity.aggregate) : prev?.lastValue);
  const floor = Math.max(0, ...Object.values(prev?.holds ?? {}));
  const measured = value === undefined ? spec.bounds.minActive : desiredFromMetric(spec, value);
  // The open interval cannot scale in (it has not closed) but holds scale-in above what it already asks.
  const opened = open ? desiredFromMetric(spec, reduce(open, spec.capacity.aggregate)) : 0;
  const learned = Math.min(spec.bounds.maxActive, Math.max(measured, floor));
  const raw = Math.max(learned, Math.min(spec.bounds.maxActive, opened));
  const { desired, history } = stabilise(spec, prev?.history ?? [], now, raw);
  // The forecast learns once per closed interval, from measured demand only: the floor used before any
  // metric arrived is not a trend, and a breach is a partial interval.
  const learn = closed !== undefined && (prev?.forecastAt ?? Number.NEGATIVE_INFINITY) < closedAt;
  const warm = warmPolicy.decide({
    spec,
    now,
    desired,
    ...(learn ? { observed: { at: closedAt, demand: learned } } : {}),
    // What the pool has ready against what the last decision aimed for: a refill still on its way.
    // Only what is on its way counts: a pool whose refills cannot launch (no room on the hosts) would
    // otherwise learn ever larger margins for instances no margin can bring.
    shortfall: Math.min(counts.booting, Math.max(0, (prev?.warmTarget ?? 0) - counts.warm)),
    state: prev?.forecast,
  });
  // The pool launches for what the policy asks now, and keeps what it asked for within the last lead time
  // (or the stabilisation window, if shorter) before trimming: a warm instance deleted only to be launched
  // again within a lead time costs more than keeping it, as a launch takes that long to become warm.
  const kept = stabilise(
    {
      scaleIn: {
        ...spec.scaleIn,
        stabilisationMs: Math.min(spec.scaleIn.stabilisationMs, spec.forecast.horizonMs),
      },
    },
    prev?.extraHistory ?? [],
    now,
    warm.extra,
  );
  // A manual warm-per-host wins over the forecast.
  const extra: WarmExtra =
    prev?.override?.warmPerHost === undefined ? { launch: warm.extra, keep: kept.desired } : NO_EXTRA;
  const targets = hostTargets(spec, extra, counts);
  const next: PoolPolicyState = {
    ...(prev?.override ? { override: prev.override } : {}),
    ...(prev?.holds ? { holds: prev.holds } : {}),
    desired,
    history,
    ...(warm.state ? { forecast: warm.state } : {}),
    extraHistory: kept.history,
    ...(learn
      ? { forecastAt: closedAt }
      : prev?.forecastAt === undefined
        ? {}
        : { forecastAt: prev.forecastAt }),
    warmTarget: [...targets.launch.values()].reduce((a, b) => a + b, 0),
    warmExtra: extra,
    ...(value === undefined ? {} : { lastValue: value }),
  };
  return { desired, extra, targets, next };
}
