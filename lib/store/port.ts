/**
 * The StateStore port: all state the stateless functions share. Every method is one atomic step, so that
 * several controllers (Lambda instances, consumers of different partitions, a webhook and a metric handler)
 * can act on one pool at the same moment: a promotion is never lost, never doubled and never past the
 * pool's bounds. The in-memory adapter is the embedded default; the Redis adapter runs each step as one Lua
 * script. Both pass one contract suite (test/contract/store.contract.ts).
 */
import type {
  InstanceRecord,
  InstanceState,
  IntervalStats,
  LaunchPurpose,
  WarmState,
} from '../domain/index.js';

export interface NewInstance {
  id: string;
  pool: string;
  host: string;
  warmState: WarmState;
  purpose: LaunchPurpose;
  generation: number;
  /** The controller launching it; it holds the lease until the instance rests. */
  owner: string;
  leaseMs: number;
  /** A cold launch made under a claim's cold slots: consumes one of that claim's reserved slots. */
  claimId?: string;
}

export interface TransitionRequest {
  from: InstanceState | readonly InstanceState[];
  to: InstanceState;
  /** The controller making the change. A live lease held by another owner refuses the change. */
  owner: string;
  /** Lease to hold after the change when `to` is an in-flight state (booting, warming, promoting, returning, deleting). */
  leaseMs?: number;
  /** Take the change even when another owner's lease is live (reconcile after the owner was seen dead). */
  force?: boolean;
}

export interface TransitionResult {
  record: InstanceRecord;
  /**
   * False when the instance was already in `to` under the same owner (a retried step): nothing changed.
   */
  changed: boolean;
}

export interface ClaimRequest {
  /** Idempotency key: a retried claim with the same id returns the same answer and claims nothing more. */
  claimId: string;
  count: number;
  owner: string;
  leaseMs: number;
  /** Serving instances (promoting, active, cold launches and their reserved slots) never pass this. */
  maxServing: number;
  /** Keep the answer for retries this long (ms). */
  ttlMs: number;
}

export interface Claim {
  claimId: string;
  /** Warm instances now `promoting`, leased to the owner, fastest tier first, spread over hosts. */
  instances: InstanceRecord[];
  /**
   * Slots reserved for cold launches when the pool had fewer warm instances than asked: the caller may
   * launch this many straight into service. Each NewInstance with this claimId consumes one; the rest
   * lapse with the claim's ttl or are given back with releaseColdSlots.
   */
  coldSlots: number;
  /** False when this is the stored answer to an earlier call with the same claimId. */
  fresh: boolean;
}

/** Per-pool state the controller keeps between ticks (policy history, forecast, manual overrides). */
export interface PoolStateEnvelope<T> {
  version: number;
  data: T;
}

export interface StateStore {
  /** Records a new instance in `booting`. Inserting the same id again is a no-op that returns the record. */
  insert(rec: NewInstance): Promise<InstanceRecord>;
  get(pool: string, id: string): Promise<InstanceRecord | undefined>;
  list(pool: string): Promise<InstanceRecord[]>;
  /**
   * Moves an instance along the lifecycle if it is in one of `from`. Throws UnknownInstanceError,
   * IllegalTransitionError, StaleStateError (it was somewhere else) or LeaseHeldError.
   */
  transition(pool: string, id: string, req: TransitionRequest): Promise<TransitionResult>;
  /**
   * Takes the lease on an instance whose lease is free, expired or already ours, without moving it (a
   * reconciler taking over an interrupted step). Throws LeaseHeldError, UnknownInstanceError, or
   * StaleStateError when `state` is given and the instance is elsewhere.
   */
  acquireLease(
    pool: string,
    id: string,
    req: { owner: string; leaseMs: number; state?: InstanceState },
  ): Promise<InstanceRecord>;
  /** Forgets an instance (it is gone from the cloud). True when a record was removed. */
  remove(pool: string, id: string): Promise<boolean>;
  /** Claims up to `count` warm instances for promotion, and cold slots for the rest, within `maxServing`. */
  claimWarm(pool: string, req: ClaimRequest): Promise<Claim>;
  /** Gives back cold slots of a claim that were not used (a launch failed). */
  releaseColdSlots(pool: string, claimId: string, count: number): Promise<void>;
  /**
   * Cold slots that live claims hold and have not yet turned into launches: instances on their way into
   * service that no record shows yet. A decision counts them as serving, or it would launch them twice.
   */
  reservedSlots(pool: string): Promise<number>;
  /** Takes a named pool-wide lock (e.g. `refill`) if free, expired, or already ours. */
  tryLock(pool: string, name: string, owner: string, ttlMs: number): Promise<boolean>;
  unlock(pool: string, name: string, owner: string): Promise<void>;
  /** Reads the pool's controller state. */
  getPoolState<T>(pool: string): Promise<PoolStateEnvelope<T> | undefined>;
  /** Writes it if nobody wrote since `expectedVersion` (0 for a first write). True when written. */
  putPoolState<T>(pool: string, data: T, expectedVersion: number): Promise<boolean>;
  /**
   * Folds a batch's stats for one metric into the shared interval starting at `start` (clock ms) and
   * returns the interval as merged so far, so any controller (any consumer of the partition) sees all of
   * it. The interval is kept for `ttlMs`.
   */
  mergeInterval(
    pool: string,
    metric: string,
    start: number,
    stats: IntervalStats,
    ttlMs: number,
  ): Promise<IntervalStats>;
  /** The interval starting at `start`, if any sample fell into it. */
  getInterval(pool: string, metric: string, start: number): Promise<IntervalStats | undefined>;
  /**
   * True the first time `key` is seen for `pool` within `ttlMs`, false on a repeat: what makes at-least-once
   * delivery (a Kafka batch or a webhook delivered twice) change the state once.
   */
  markOnce(pool: string, key: string, ttlMs: number): Promise<boolean>;
  /** True when `key` was marked for `pool` and its ttl has not passed; marks nothing. */
  isMarked(pool: string, key: string): Promise<boolean>;
  close(): Promise<void>;
}
