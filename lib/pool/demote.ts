import { randomUUID } from 'node:crypto';
import type { InstanceRecord, PoolSpec } from '../domain/index.js';
import { isWarmpoolError } from '../domain/index.js';
import { mapLimit } from '../util/index.js';
import { emit, hostBounds, type PoolContext, stepLease, withinHostBounds } from './context.js';
import { countPool } from './counts.js';
import { retire } from './drive.js';
import { WARM_POOL_LOCK, warmPoolLockMs } from './refill.js';

/** How often a demote asks again for the warm-pool lock while another controller decides under it (ms). */
const LOCK_RETRY_MS = 250;

export interface DemoteResult {
  requested: number;
  /** Put back into the warm pool (reuse on scale-in). */
  returned: string[];
  /**
   * Deleted: the host's pool was full, the template outdated, reuse is off, or the warm-pool lock stayed
   * held past its lifetime.
   */
  deleted: string[];
  failed: string[];
}

/**
 * Scale-in: takes `count` instances out of service. With reuse on, each goes back to the warm pool of its
 * host while that host is under its warm target (or maximum) and the instance's template is current; the
 * rest are deleted. Instances are taken first from the hosts whose warm pool is furthest below target, newest first,
 * so a scale-in refills the pool where a refill would otherwise have to launch.
 */
export async function demote(
  ctx: PoolContext,
  count: number,
  options: {
    signal?: AbortSignal;
    /**
     * Warm instances each host should hold (the controller's current targets). Instances go back only up
     * to these, so a following refill has nothing to trim; without them, up to each host's maximum.
     */
    targets?: ReadonlyMap<string, number>;
  } = {},
): Promise<DemoteResult> {
  const { spec, store, provider } = ctx;
  const records = await store.list(spec.name);
  const counts = countPool(spec, records);
  const pending = new Map(counts.hosts.map((h) => [h.name, h.warm + h.booting + h.returning]));
  const shortfall = (host: string) => (hostBounds(spec, host)?.target ?? 0) - (pending.get(host) ?? 0);
  const candidates = records
    .filter((r) => r.state === 'active')
    .sort((a, b) => shortfall(b.host) - shortfall(a.host) || b.createdAt - a.createdAt);

  const taken: InstanceRecord[] = [];
  for (const rec of candidates) {
    if (taken.length >= Math.max(0, count)) break;
    try {
      const { record } = await store.transition(spec.name, rec.id, {
        from: 'active',
        to: 'returning',
        owner: ctx.owner,
        leaseMs: stepLease(ctx, spec.promotion.wakeTimeoutMs),
      });
      taken.push(record);
    } catch (err) {
      // Another controller moved it first; take the next one.
      if (!isWarmpoolError(err)) throw err;
    }
  }

  const { toReturn, toDelete } = await chooseReturns(ctx, taken, options.targets, options.signal);

  const result: DemoteResult = { requested: count, returned: [], deleted: [], failed: [] };
  const sent = await mapLimit(toReturn, spec.promotion.concurrency, (rec) =>
    provider.sleep(rec.id, rec.warmState),
  );
  const sleeping = toReturn.filter((_, i) => 'value' in sent[i]!);
  for (const [i, rec] of toReturn.entries()) if (!('value' in sent[i]!)) toDelete.push(rec);

  const byState = new Map<string, InstanceRecord[]>();
  for (const rec of sleeping) {
    const list = byState.get(rec.warmState) ?? [];
    list.push(rec);
    byState.set(rec.warmState, list);
  }
  for (const [state, recs] of byState) {
    const waited =
      state === 'running'
        ? { ready: recs.map((r) => ({ id: r.id })), failed: [], timedOut: [] }
        : await provider.waitFor(
            recs.map((r) => r.id),
            recs[0]!.warmState,
            { timeoutMs: spec.promotion.wakeTimeoutMs, signal: options.signal },
          );
    for (const inst of waited.ready) {
      await store.transition(spec.name, inst.id, { from: 'returning', to: 'warm', owner: ctx.owner });
      result.returned.push(inst.id);
    }
    const lost = new Set([...waited.failed.map((f) => f.id), ...waited.timedOut]);
    for (const rec of recs) if (lost.has(rec.id)) toDelete.push(rec);
  }

  await mapLimit(toDelete, spec.refill.concurrency, async (rec) => {
    try {
      await retire(ctx, rec, 'scale-in', 'deleted');
      result.deleted.push(rec.id);
    } catch (err) {
      result.failed.push(rec.id);
      ctx.log.error(
        { pool: spec.name, id: rec.id, err: String(err) },
        'scale-in delete failed; reconcile will retry',
      );
    }
  });
  emit(ctx, 'demoted', {
    requested: count,
    returned: result.returned.length,
    deleted: result.deleted.length,
  });
  return result;
}

/**
 * Splits the instances taken out of service into those that go back to the warm pool and those deleted.
 * The choice is made under the warm-pool lock on a fresh view of each host, as refill decides its launches:
 * two demotes, or a demote and a refill, deciding from their own snapshots would each see the room the
 * other is about to fill and together push a host past its warm maximum. Every `returning` instance not
 * ours counts as taking room (it may still be on its way back), and ours that are to be deleted leave
 * `returning` before the lock is released, so the next decision does not count them. Without the lock
 * (reuse off, or still held by another after its lifetime) every instance is deleted: never past the max.
 */
async function chooseReturns(
  ctx: PoolContext,
  taken: readonly InstanceRecord[],
  targets: ReadonlyMap<string, number> | undefined,
  signal?: AbortSignal,
): Promise<{ toReturn: InstanceRecord[]; toDelete: InstanceRecord[] }> {
  const { spec, store } = ctx;
  const toReturn: InstanceRecord[] = [];
  const toDelete: InstanceRecord[] = [];
  if (taken.length === 0) return { toReturn, toDelete };
  // An owner of its own: this controller's refill may hold the lock under the controller's name.
  const lockOwner = `${ctx.owner}/demote/${randomUUID()}`;
  const locked = spec.scaleIn.reuse && (await lockWarmPool(ctx, lockOwner, signal));
  try {
    if (!locked) {
      toDelete.push(...taken);
      return { toReturn, toDelete };
    }
    const mine = new Set(taken.map((r) => r.id));
    const others = (await store.list(spec.name)).filter((r) => !mine.has(r.id));
    const pending = new Map(
      countPool(spec, others).hosts.map((h) => [h.name, h.warm + h.booting + h.returning]),
    );
    const room = returnRoom(spec, pending, targets);
    // Hosts below their own target first: there a returned instance is wanted whatever happens next.
    const ordered = [...taken].sort((a, b) => Number(room.below(b.host)) - Number(room.below(a.host)));
    for (const rec of ordered) {
      if (rec.generation === spec.template.generation && room.take(rec.host)) toReturn.push(rec);
      else toDelete.push(rec);
    }
    for (const [i, rec] of toDelete.entries()) {
      try {
        const { record } = await store.transition(spec.name, rec.id, {
          from: 'returning',
          to: 'deleting',
          owner: ctx.owner,
          leaseMs: stepLease(ctx, 60_000),
        });
        toDelete[i] = record;
      } catch (err) {
        // Still ours to delete; retire moves it on.
        if (!isWarmpoolError(err)) throw err;
      }
    }
    return { toReturn, toDelete };
  } finally {
    if (locked) await store.unlock(spec.name, WARM_POOL_LOCK, lockOwner);
  }
}

/**
 * Where instances taken out of service may go back to the warm pool. Without targets: up to each host's
 * maximum. With the controller's targets: up to each host's target, and beyond it (up to the host's maximum)
 * while the pool holds fewer than the targets' extras over the configured per-host targets. Those extras
 * belong to the pool, not to a host: they were spread over the hosts the pool loads least, and an instance
 * coming out of service elsewhere is as good as one a refill would launch there, and warm at once. The
 * refill that follows places its targets where the extras then are, so nothing is trimmed.
 */
function returnRoom(
  spec: PoolSpec,
  pending: Map<string, number>,
  targets: ReadonlyMap<string, number> | undefined,
): { below(host: string): boolean; take(host: string): boolean } {
  const held = (host: string) => pending.get(host) ?? 0;
  const bounds = (host: string) => hostBounds(spec, host) ?? { name: host, min: 0, target: 0, max: 0 };
  // Extras: what the targets add over the configured targets; placed: what hosts hold beyond theirs.
  let extras = 0;
  let placed = 0;
  if (targets) {
    for (const h of spec.hosts) {
      const base = withinHostBounds(h);
      extras += Math.max(0, (targets.get(h.name) ?? base) - base);
      placed += Math.max(0, held(h.name) - base);
    }
  }
  const target = (host: string) => Math.min(bounds(host).max, targets?.get(host) ?? bounds(host).max);
  const below = (host: string) => held(host) < target(host);
  return {
    below,
    take(host) {
      const b = bounds(host);
      const beyondBase = held(host) >= withinHostBounds(b);
      if (!below(host) && !(held(host) < b.max && placed < extras)) return false;
      if (beyondBase) placed++;
      pending.set(host, held(host) + 1);
      return true;
    },
  };
}

/** Takes the warm-pool lock, waiting while another holds it, for at most the lock's own lifetime. */
async function lockWarmPool(ctx: PoolContext, owner: string, signal?: AbortSignal): Promise<boolean> {
  const { spec, store, clock } = ctx;
  const ttl = warmPoolLockMs(spec);
  const deadline = clock.now() + ttl;
  for (;;) {
    if (await store.tryLock(spec.name, WARM_POOL_LOCK, owner, ttl)) return true;
    if (clock.now() >= deadline) return false;
    await clock.sleep(LOCK_RETRY_MS, signal);
  }
}
