/**
 * The warm-pool domain: warm states, the instance lifecycle, and the normalised pool specification that the
 * controller works from (lib/config compiles YAML into it). Everything here is plain data, free of I/O.
 */

/** How a warm instance sleeps. `running` is a pre-booted instance that is simply not yet in service. */
export const WARM_STATES = ['paused', 'suspended', 'hibernated', 'stopped', 'shelved', 'running'] as const;
export type WarmState = (typeof WARM_STATES)[number];

/**
 * Wake-speed rank of each warm state, fastest first. A pool with several warm tiers promotes from the lowest
 * rank first. The order follows what each wake has to do: nothing (running), resume a paused guest (memory
 * still on the host), read the memory image back from disk (suspended, hibernated), boot the guest (stopped),
 * or move the disk back and boot (shelved).
 */
export const WAKE_RANK: Readonly<Record<WarmState, number>> = {
  running: 0,
  paused: 1,
  suspended: 2,
  hibernated: 3,
  stopped: 4,
  shelved: 5,
};

/** The life of an instance as the store records it. */
export const INSTANCE_STATES = [
  'booting',
  'warming',
  'warm',
  'promoting',
  'active',
  'returning',
  'deleting',
  'failed',
] as const;
export type InstanceState = (typeof INSTANCE_STATES)[number];

/**
 * What the instance is being built for. A refill builds `warm` instances; a cold miss during promotion
 * launches straight into service (`active`), skipping the pool.
 */
export type LaunchPurpose = 'warm' | 'active';

export interface Lease {
  /** The controller working on the instance (a runtime id, a Lambda request id). */
  owner: string;
  /** Clock time (ms) after which another controller may take the work over. */
  expiresAt: number;
}

/** The store's record of one instance. The cloud is the source of truth; reconcile mends any drift. */
export interface InstanceRecord {
  id: string;
  pool: string;
  host: string;
  state: InstanceState;
  /** The tier this instance sleeps in while warm. */
  warmState: WarmState;
  purpose: LaunchPurpose;
  /** Template generation the instance was built from; an older one is rotated out. */
  generation: number;
  createdAt: number;
  /** When the instance entered its current state. */
  since: number;
  /** Bumped on every transition; lets callers and tests see that a change happened once. */
  version: number;
  lease?: Lease;
}

export interface HostBounds {
  name: string;
  /** Warm instances this host keeps at least (manual floor). */
  min: number;
  /** Warm instances this host keeps at most. */
  max: number;
  /** Warm instances the policy aims for before forecasting adds to it. */
  target: number;
}

export interface PoolTemplate {
  /** Provider-specific launch parameters (image, flavor, network, launch template …). */
  params: Readonly<Record<string, string>>;
  /** Bump to rotate every warm instance built from an older template. */
  generation: number;
}

export const FORECAST_KINDS = ['none', 'holt', 'holt-winters', 'burst'] as const;
export type ForecastKind = (typeof FORECAST_KINDS)[number];

export interface PoolSpec {
  name: string;
  /** Name of the provider (as configured) that runs this pool. */
  provider: string;
  template: PoolTemplate;
  warmState: WarmState;
  hosts: readonly HostBounds[];
  bounds: {
    /** Instances in service at least, whatever the metric says. */
    minActive: number;
    /** Instances in service at most: promotions and cold launches never pass it. */
    maxActive: number;
    /** Warm instances over all hosts at most. */
    maxWarm: number;
  };
  capacity: {
    /** The metric that measures this pool's load. */
    metric: string;
    /** How much of that metric one instance serves. */
    perInstance: number;
    /** What an interval's samples amount to: the `last`, the `max` or the `avg`. */
    aggregate: 'last' | 'max' | 'avg';
    /** Samples are folded per interval of this length (ms). */
    intervalMs: number;
  };
  scaleIn: {
    /** Scale in only to the highest desired count seen over this window (ms). */
    stabilisationMs: number;
    /** Put instances back to the warm pool on scale-in rather than deleting them. */
    reuse: boolean;
  };
  forecast: {
    /** The predictor of demand: none (per-host targets only), holt, holt-winters, or burst (reserve). */
    kind: ForecastKind;
    /** Smoothing of the level (0..1); unset, the forecaster's own default. */
    alpha?: number;
    /** Smoothing of the trend (0..1). */
    beta?: number;
    /** Smoothing of the daily profile (0..1; holt-winters). */
    gamma?: number;
    /** The pool holds the demand forecast at this quantile (0.5..1): its upper bound, not its mean. */
    quantile: number;
    /** How far ahead the pool must hold (ms): the refill lead time. */
    horizonMs: number;
  };
  promotion: {
    /** Wake calls in flight at once. */
    concurrency: number;
    /** How long a wake may take before the instance is marked failed (ms). */
    wakeTimeoutMs: number;
  };
  refill: {
    /** Launches in flight per host at once. */
    maxLaunchesPerHost: number;
    /** Launches in flight over the pool at once. */
    concurrency: number;
    /** How long a launch may take to be ready before it counts as failed (ms). */
    bootTimeoutMs: number;
  };
  hygiene: {
    /** A warm instance older than this is rotated out (ms); 0 keeps them forever. */
    maxWarmAgeMs: number;
    /** An in-flight step whose lease expired this long ago is taken over by reconcile (ms). */
    leaseMs: number;
  };
}

/** One metric's samples within one interval, folded: O(1) whatever the rate. */
export interface IntervalStats {
  count: number;
  sum: number;
  max: number;
  last: number;
  /** Timestamp (ms) of the sample `last` came from. */
  lastTs: number;
}
