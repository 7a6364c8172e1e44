import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { InstanceRecord } from '../domain/index.js';
import { isConflict } from '../providers/index.js';
import { mapLimit } from '../util/index.js';
import { emit, type PoolContext } from './context.js';
import { drive, retire } from './drive.js';
import { chooseHosts, launch } from './launch.js';

export interface PromoteOptions {
  /** Idempotency key: a retried promote with the same id claims nothing more. */
  claimId?: string;
  /** Why (metric, webhook, manual): carried into the event. */
  reason?: string;
  /** Launch cold for what the warm pool could not serve (default true). */
  coldLaunch?: boolean;
  signal?: AbortSignal;
}

export interface ReadyAt {
  id: string;
  at: number;
}

export interface PromoteResult {
  claimId: string;
  requested: number;
  /** Warm instances now in service (warm hits). */
  promoted: string[];
  /** Cold launches now in service (cold misses). */
  launched: string[];
  /** Instances that failed to wake or launch; they were torn down. */
  failed: string[];
  /** Asked for but refused by the pool's maxActive. */
  overLimit: number;
  /** Wall-clock ms from the decision to the last wake call accepted: the controller's own overhead. */
  overheadMs: number;
  /** When each instance went into service (clock ms), warm hits and cold launches alike. */
  ready: ReadyAt[];
  /** Clock time when the last warm instance was in service. */
  warmReadyAt: number;
  /** Clock time when the last cold launch was in service (= warmReadyAt without cold launches). */
  readyAt: number;
  /** False when this answered a retry of an earlier claim. */
  fresh: boolean;
}

/**
 * Promote(pool, n): claims n warm instances at once (spread over hosts, fastest tier first), wakes them in
 * parallel with bounded concurrency, marks them active and asks for a refill. What the pool cannot serve
 * is launched cold, within maxActive. Every instance is counted as a warm hit or a cold miss.
 *
 * @example
 * const r = await promote(ctx, 10, { reason: 'metric' });
 * console.log(r.promoted.length, 'warm hits', r.launched.length, 'cold misses');
 */
export async function promote(
  ctx: PoolContext,
  count: number,
  options: PromoteOptions = {},
): Promise<PromoteResult> {
  const { spec, store, provider, clock } = ctx;
  const started = performance.now();
  const claimId = options.claimId ?? (ctx.newId ?? randomUUID)();
  const claim = await store.claimWarm(spec.name, {
    claimId,
    count,
    owner: ctx.owner,
    leaseMs: spec.promotion.wakeTimeoutMs + spec.hygiene.leaseMs,
    maxServing: spec.bounds.maxActive,
    ttlMs: spec.refill.bootTimeoutMs + spec.hygiene.leaseMs,
  });
  const overLimit = claim.fresh ? Math.max(0, count - claim.instances.length - claim.coldSlots) : 0;
  const mine = claim.instances.filter((r) => r.state === 'promoting' && r.lease?.owner === ctx.owner);

  const sent = await mapLimit(mine, spec.promotion.concurrency, async (rec) => {
    try {
      await provider.wake(rec.id, rec.warmState);
    } catch (err) {
      // On a retried claim the first attempt may have sent the wake already.
      if (claim.fresh || !isConflict(err)) throw err;
    }
  });
  const overheadMs = performance.now() - started;

  const failed: string[] = [];
  const promoted: string[] = [];
  const ready: ReadyAt[] = [];
  // Each instance goes into service the moment it is up, not when the slowest of the batch is.
  await Promise.all(
    sent.map(async (res, i) => {
      const rec = mine[i]!;
      const problem =
        'error' in res
          ? `wake refused: ${String(res.error)}`
          : await waitRunning(ctx, rec.id, options.signal);
      if (problem === undefined) {
        await store.transition(spec.name, rec.id, { from: 'promoting', to: 'active', owner: ctx.owner });
        promoted.push(rec.id);
        ready.push({ id: rec.id, at: clock.now() });
        return;
      }
      failed.push(rec.id);
      await retire(ctx, rec, problem).catch((err) => logFailure(ctx, rec, err));
    }),
  );
  const warmReadyAt = clock.now();
  if (claim.fresh) {
    emit(ctx, 'promoted', {
      claimId,
      requested: count,
      warmHits: promoted.length,
      coldMisses: options.coldLaunch === false ? 0 : claim.coldSlots,
      failed: failed.length,
      overLimit,
      overheadMs,
      reason: options.reason ?? 'unspecified',
    });
  }
  ctx.requestRefill?.(spec.name);

  const launched =
    claim.fresh && options.coldLaunch !== false
      ? await coldLaunch(ctx, claimId, claim.coldSlots, failed, ready, options.signal)
      : [];
  if (claim.fresh && options.coldLaunch === false && claim.coldSlots > 0) {
    await store.releaseColdSlots(spec.name, claimId, claim.coldSlots);
  }
  return {
    claimId,
    requested: count,
    promoted,
    launched,
    failed,
    overLimit,
    overheadMs,
    ready,
    warmReadyAt,
    readyAt: clock.now(),
    fresh: claim.fresh,
  };
}

async function coldLaunch(
  ctx: PoolContext,
  claimId: string,
  slots: number,
  failed: string[],
  ready: ReadyAt[],
  signal?: AbortSignal,
): Promise<string[]> {
  if (slots <= 0) return [];
  const hosts = chooseHosts(ctx.spec, await ctx.provider.hosts(), slots);
  if (hosts.length < slots) await ctx.store.releaseColdSlots(ctx.spec.name, claimId, slots - hosts.length);
  const results = await mapLimit(hosts, ctx.spec.refill.concurrency, async (host) => {
    let launched: Awaited<ReturnType<typeof launch>>;
    try {
      launched = await launch(ctx, host, 'active', claimId);
    } catch (err) {
      await ctx.store.releaseColdSlots(ctx.spec.name, claimId, 1);
      throw err;
    }
    const outcome = await drive(ctx, launched.record, { signal });
    if (outcome === 'active') ready.push({ id: launched.record.id, at: ctx.clock.now() });
    else failed.push(launched.record.id);
    return outcome === 'active' ? launched.record.id : undefined;
  });
  const ids: string[] = [];
  for (const r of results) {
    if ('value' in r) {
      if (r.value !== undefined) ids.push(r.value);
    } else {
      ctx.log.warn({ pool: ctx.spec.name, err: String(r.error) }, 'cold launch failed');
    }
  }
  return ids;
}

async function waitRunning(ctx: PoolContext, id: string, signal?: AbortSignal): Promise<string | undefined> {
  const r = await ctx.provider.waitFor([id], 'running', {
    timeoutMs: ctx.spec.promotion.wakeTimeoutMs,
    signal,
  });
  if (r.ready.length > 0) return undefined;
  return `wake failed: ${r.failed[0]?.reason ?? 'timed out'}`;
}

function logFailure(ctx: PoolContext, rec: InstanceRecord, err: unknown): void {
  ctx.log.error(
    { pool: ctx.spec.name, id: rec.id, err: String(err) },
    'could not retire instance; reconcile will',
  );
}
