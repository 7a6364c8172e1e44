import type { Clock } from '../clock/index.js';
import {
  canTransition,
  IllegalTransitionError,
  IN_FLIGHT_STATES,
  type InstanceRecord,
  type InstanceState,
  type IntervalStats,
  LeaseHeldError,
  SERVING_STATES,
  StaleStateError,
  UnknownInstanceError,
  WarmpoolError,
} from '../domain/index.js';
import { mergeStats } from '../signals/aggregate.js';
import { assertCount, newRecord, pickForPromotion } from './claim-order.js';
import type {
  Claim,
  ClaimRequest,
  NewInstance,
  PoolStateEnvelope,
  StateStore,
  TransitionRequest,
  TransitionResult,
} from './port.js';

interface StoredClaim {
  instanceIds: string[];
  coldSlots: number;
  /** Cold slots not yet turned into a launch. */
  remaining: number;
  expiresAt: number;
}

interface PoolData {
  instances: Map<string, InstanceRecord>;
  claims: Map<string, StoredClaim>;
  locks: Map<string, { owner: string; expiresAt: number }>;
  seen: Map<string, number>;
  intervals: Map<string, { stats: IntervalStats; expiresAt: number }>;
  /** Kept as JSON text, as the Redis adapter keeps it: what a caller reads back is a copy, plain data only. */
  state?: { version: number; json: string };
}

/** A record the caller may change freely: records are flat but for the lease (cheaper than structuredClone). */
function copy(rec: InstanceRecord): InstanceRecord {
  const out = { ...rec };
  if (rec.lease) out.lease = { ...rec.lease };
  return out;
}

/**
 * The in-memory StateStore: the embedded default, and the reference the Redis adapter is checked against.
 * Each method runs to completion without awaiting, so it is atomic within the process.
 */
export class MemoryStore implements StateStore {
  private readonly pools = new Map<string, PoolData>();

  constructor(private readonly clock: Clock) {}

  private pool(name: string): PoolData {
    let p = this.pools.get(name);
    if (!p) {
      p = {
        instances: new Map(),
        claims: new Map(),
        locks: new Map(),
        seen: new Map(),
        intervals: new Map(),
      };
      this.pools.set(name, p);
    }
    return p;
  }

  async insert(rec: NewInstance): Promise<InstanceRecord> {
    const p = this.pool(rec.pool);
    const existing = p.instances.get(rec.id);
    if (existing) return copy(existing);
    if (rec.claimId !== undefined) {
      const claim = this.liveClaim(p, rec.claimId);
      if (!claim || claim.remaining <= 0) {
        throw new WarmpoolError('no_cold_slot', `claim ${rec.claimId} has no cold slot left for ${rec.id}`);
      }
      claim.remaining -= 1;
    }
    const now = this.clock.now();
    const record = newRecord(rec, now);
    p.instances.set(rec.id, record);
    return copy(record);
  }

  async get(pool: string, id: string): Promise<InstanceRecord | undefined> {
    const rec = this.pools.get(pool)?.instances.get(id);
    return rec ? copy(rec) : undefined;
  }

  async list(pool: string): Promise<InstanceRecord[]> {
    return [...(this.pools.get(pool)?.instances.values() ?? [])].map(copy);
  }

  async transition(pool: string, id: string, req: TransitionRequest): Promise<TransitionResult> {
    const from: readonly InstanceState[] = typeof req.from === 'string' ? [req.from] : req.from;
    for (const f of from) if (!canTransition(f, req.to)) throw new IllegalTransitionError(id, f, req.to);
    const rec = this.pools.get(pool)?.instances.get(id);
    if (!rec) throw new UnknownInstanceError(pool, id);
    const now = this.clock.now();
    const live = rec.lease !== undefined && rec.lease.expiresAt > now;
    if (rec.state === req.to && !from.includes(req.to)) {
      // A retried step: fine if nobody else holds the instance in that state.
      if (live && rec.lease!.owner !== req.owner) throw new LeaseHeldError(id, rec.lease!.owner);
      return { record: copy(rec), changed: false };
    }
    if (!from.includes(rec.state)) throw new StaleStateError(id, from, rec.state);
    if (live && rec.lease!.owner !== req.owner && !req.force) throw new LeaseHeldError(id, rec.lease!.owner);
    rec.state = req.to;
    rec.since = now;
    rec.version += 1;
    if (IN_FLIGHT_STATES.includes(req.to)) {
      rec.lease = { owner: req.owner, expiresAt: now + (req.leaseMs ?? 60_000) };
    } else {
      delete rec.lease;
    }
    return { record: copy(rec), changed: true };
  }

  async acquireLease(
    pool: string,
    id: string,
    req: { owner: string; leaseMs: number; state?: InstanceState },
  ): Promise<InstanceRecord> {
    const rec = this.pools.get(pool)?.instances.get(id);
    if (!rec) throw new UnknownInstanceError(pool, id);
    if (req.state !== undefined && rec.state !== req.state)
      throw new StaleStateError(id, [req.state], rec.state);
    const now = this.clock.now();
    if (rec.lease && rec.lease.expiresAt > now && rec.lease.owner !== req.owner) {
      throw new LeaseHeldError(id, rec.lease.owner);
    }
    rec.lease = { owner: req.owner, expiresAt: now + req.leaseMs };
    return copy(rec);
  }

  async remove(pool: string, id: string): Promise<boolean> {
    return this.pools.get(pool)?.instances.delete(id) ?? false;
  }

  async claimWarm(pool: string, req: ClaimRequest): Promise<Claim> {
    assertCount('count', req.count);
    assertCount('maxServing', req.maxServing);
    const p = this.pool(pool);
    const now = this.clock.now();
    for (const [key, claim] of p.claims) if (claim.expiresAt <= now) p.claims.delete(key);
    const stored = p.claims.get(req.claimId);
    if (stored) {
      return {
        claimId: req.claimId,
        instances: stored.instanceIds.flatMap((id) => {
          const rec = p.instances.get(id);
          return rec ? [copy(rec)] : [];
        }),
        coldSlots: stored.coldSlots,
        fresh: false,
      };
    }
    let serving = 0;
    const warm: InstanceRecord[] = [];
    for (const rec of p.instances.values()) {
      if (SERVING_STATES.includes(rec.state) || (rec.state === 'booting' && rec.purpose === 'active'))
        serving++;
      else if (rec.state === 'warm') warm.push(rec);
    }
    for (const claim of p.claims.values()) serving += claim.remaining;
    const room = Math.max(0, req.maxServing - serving);
    const wanted = Math.max(0, Math.min(req.count, room));
    const picked = pickForPromotion(warm, wanted);
    for (const rec of picked) {
      rec.state = 'promoting';
      rec.since = now;
      rec.version += 1;
      rec.lease = { owner: req.owner, expiresAt: now + req.leaseMs };
    }
    const coldSlots = wanted - picked.length;
    p.claims.set(req.claimId, {
      instanceIds: picked.map((r) => r.id),
      coldSlots,
      remaining: coldSlots,
      expiresAt: now + req.ttlMs,
    });
    return { claimId: req.claimId, instances: picked.map(copy), coldSlots, fresh: true };
  }

  async releaseColdSlots(pool: string, claimId: string, count: number): Promise<void> {
    const claim = this.liveClaim(this.pool(pool), claimId);
    if (claim) claim.remaining = Math.max(0, claim.remaining - count);
  }

  async reservedSlots(pool: string): Promise<number> {
    const now = this.clock.now();
    let n = 0;
    for (const claim of this.pool(pool).claims.values()) if (claim.expiresAt > now) n += claim.remaining;
    return n;
  }

  async tryLock(pool: string, name: string, owner: string, ttlMs: number): Promise<boolean> {
    const p = this.pool(pool);
    const now = this.clock.now();
    const lock = p.locks.get(name);
    if (lock && lock.expiresAt > now && lock.owner !== owner) return false;
    p.locks.set(name, { owner, expiresAt: now + ttlMs });
    return true;
  }

  async unlock(pool: string, name: string, owner: string): Promise<void> {
    const p = this.pool(pool);
    if (p.locks.get(name)?.owner === owner) p.locks.delete(name);
  }

  async getPoolState<T>(pool: string): Promise<PoolStateEnvelope<T> | undefined> {
    const state = this.pools.get(pool)?.state;
    return state ? { version: state.version, data: JSON.parse(state.json) as T } : undefined;
  }

  async putPoolState<T>(pool: string, data: T, expectedVersion: number): Promise<boolean> {
    const p = this.pool(pool);
    const current = p.state?.version ?? 0;
    if (current !== expectedVersion) return false;
    p.state = { version: current + 1, json: JSON.stringify(data) };
    return true;
  }

  async mergeInterval(
    pool: string,
    metric: string,
    start: number,
    stats: IntervalStats,
    ttlMs: number,
  ): Promise<IntervalStats> {
    const p = this.pool(pool);
    const now = this.clock.now();
    for (const [k, v] of p.intervals) if (v.expiresAt <= now) p.intervals.delete(k);
    const key = `${metric}@${start}`;
    const held = p.intervals.get(key);
    if (!held) {
      p.intervals.set(key, { stats: { ...stats }, expiresAt: now + ttlMs });
      return { ...stats };
    }
    mergeStats(held.stats, stats);
    held.expiresAt = now + ttlMs;
    return { ...held.stats };
  }

  async getInterval(pool: string, metric: string, start: number): Promise<IntervalStats | undefined> {
    const held = this.pools.get(pool)?.intervals.get(`${metric}@${start}`);
    return held && held.expiresAt > this.clock.now() ? { ...held.stats } : undefined;
  }

  async markOnce(pool: string, key: string, ttlMs: number): Promise<boolean> {
    const p = this.pool(pool);
    const now = this.clock.now();
    for (const [k, expiresAt] of p.seen) if (expiresAt <= now) p.seen.delete(k);
    if (p.seen.has(key)) return false;
    p.seen.set(key, now + ttlMs);
    return true;
  }

  async isMarked(pool: string, key: string): Promise<boolean> {
    const expiresAt = this.pools.get(pool)?.seen.get(key);
    return expiresAt !== undefined && expiresAt > this.clock.now();
  }

  async close(): Promise<void> {}

  private liveClaim(p: PoolData, claimId: string): StoredClaim | undefined {
    const claim = p.claims.get(claimId);
    return claim && claim.expiresAt > this.clock.now() ? claim : undefined;
  }
}
