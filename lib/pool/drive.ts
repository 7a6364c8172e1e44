/**
 * Drives one instance from wherever it stands to a resting state (warm, active, or gone), one step at a
 * time, each step a store transition guarded by the instance's lease. The same code finishes a launch
 * (refill, cold launch) and takes over an interrupted one (reconcile), which is what makes every operation
 * resumable after a crash: the store says where the instance stood, the cloud says how far it got.
 */
import type { InstanceRecord, InstanceState } from '../domain/index.js';
import { ignoreNotFound, isNotFound, type ProviderInstance } from '../providers/index.js';
import { emit, type PoolContext, stepLease } from './context.js';

export type DriveOutcome = 'warm' | 'active' | 'deleted';

async function move(
  ctx: PoolContext,
  rec: InstanceRecord,
  to: InstanceState,
  stepMs: number,
  force = false,
): Promise<InstanceRecord> {
  const { record } = await ctx.store.transition(ctx.spec.name, rec.id, {
    from: rec.state,
    to,
    owner: ctx.owner,
    leaseMs: stepLease(ctx, stepMs),
    force,
  });
  return record;
}

/**
 * Fails an instance and tears it down: failed → deleting → delete in the cloud → forget. A refill
 * replaces it later, since it no longer counts toward the pool.
 */
export async function retire(
  ctx: PoolContext,
  rec: InstanceRecord,
  reason: string,
  event: 'failed' | 'rotated' | 'deleted' = 'failed',
): Promise<'deleted'> {
  let current = rec;
  if (event === 'failed' && current.state !== 'failed' && current.state !== 'deleting') {
    current = await move(ctx, current, 'failed', 0);
  }
  if (current.state !== 'deleting') current = await move(ctx, current, 'deleting', 60_000);
  try {
    await ctx.provider.delete(current.id);
  } catch (err) {
    ignoreNotFound(err);
  }
  await ctx.store.remove(ctx.spec.name, current.id);
  emit(ctx, event, { id: current.id, host: current.host, reason });
  ctx.log.info({ pool: ctx.spec.name, id: current.id, host: current.host, reason }, `instance ${event}`);
  return 'deleted';
}

async function cloudView(ctx: PoolContext, id: string): Promise<ProviderInstance | undefined> {
  try {
    return await ctx.provider.get(id);
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/** Waits for one instance to reach `want`; undefined when it got there, else the reason it did not. */
async function awaitStatus(
  ctx: PoolContext,
  id: string,
  want: ProviderInstance['status'],
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<string | undefined> {
  const result = await ctx.provider.waitFor([id], want, { timeoutMs, signal });
  if (result.ready.length > 0) return undefined;
  if (result.failed.length > 0) return result.failed[0]!.reason;
  return `not ${want} after ${timeoutMs} ms`;
}

/** Puts a running instance to sleep in its warm state and records it warm. */
async function putToSleep(
  ctx: PoolContext,
  rec: InstanceRecord,
  signal?: AbortSignal,
): Promise<DriveOutcome> {
  const { spec } = ctx;
  if (rec.warmState !== 'running') {
    await ctx.provider.sleep(rec.id, rec.warmState);
    signal?.throwIfAborted();
    const failure = await awaitStatus(ctx, rec.id, rec.warmState, spec.promotion.wakeTimeoutMs, signal);
    if (failure) return retire(ctx, rec, `sleep to ${rec.warmState} failed: ${failure}`);
  }
  signal?.throwIfAborted();
  await move(ctx, rec, 'warm', 0);
  return 'warm';
}

/**
 * Moves `rec` on until it rests. `cloud` is what the provider said of it, when the caller already asked.
 * `takeOver` lets a reconciler force its way past an expired lease it found. Throws when `signal` aborts
 * (the record stays where it was, under its lease, for the next reconcile).
 */
export async function drive(
  ctx: PoolContext,
  start: InstanceRecord,
  options: { cloud?: ProviderInstance | null; takeOver?: boolean; signal?: AbortSignal } = {},
): Promise<DriveOutcome> {
  const { spec } = ctx;
  const { signal } = options;
  let rec = start;
  if (options.takeOver) {
    // Claim the work under our name before touching the cloud; the step we take over may run as long as a
    // boot, so the lease covers the longest one.
    rec = await ctx.store.acquireLease(spec.name, rec.id, {
      owner: ctx.owner,
      leaseMs: stepLease(ctx, Math.max(spec.refill.bootTimeoutMs, spec.promotion.wakeTimeoutMs)),
      state: rec.state,
    });
  }
  let cloud = options.cloud === undefined ? await cloudView(ctx, rec.id) : (options.cloud ?? undefined);
  for (;;) {
    signal?.throwIfAborted();
    if (!cloud || cloud.status === 'deleted') {
      await ctx.store.remove(spec.name, rec.id);
      emit(ctx, 'forgotten', { id: rec.id, host: rec.host, state: rec.state });
      return 'deleted';
    }
    if (cloud.status === 'error') return retire(ctx, rec, cloud.fault ?? 'instance in error');
    switch (rec.state) {
      case 'booting': {
        if (cloud.status === 'building' || cloud.busy) {
          const failure = await awaitStatus(ctx, rec.id, 'running', spec.refill.bootTimeoutMs, signal);
          if (failure) return retire(ctx, rec, `launch failed: ${failure}`);
          cloud = { ...cloud, status: 'running', busy: false };
          continue;
        }
        if (rec.purpose === 'active') {
          rec = await move(ctx, rec, 'active', 0);
          return 'active';
        }
        rec = await move(ctx, rec, 'warming', spec.promotion.wakeTimeoutMs);
        continue;
      }
      case 'warming':
      case 'returning': {
        if (cloud.status === rec.warmState && !cloud.busy) {
          rec = await move(ctx, rec, 'warm', 0);
          return 'warm';
        }
        if (cloud.busy) {
          const failure = await awaitStatus(ctx, rec.id, rec.warmState, spec.promotion.wakeTimeoutMs, signal);
          if (failure) return retire(ctx, rec, `sleep to ${rec.warmState} failed: ${failure}`);
          cloud = { ...cloud, status: rec.warmState, busy: false };
          continue;
        }
        if (cloud.status === 'running') return putToSleep(ctx, rec, signal);
        return retire(ctx, rec, `unexpected cloud status ${cloud.status} while ${rec.state}`);
      }
      case 'promoting': {
        if (cloud.status === 'running' && !cloud.busy) {
          rec = await move(ctx, rec, 'active', 0);
          return 'active';
        }
        if (cloud.status === rec.warmState && !cloud.busy) {
          // The wake was never sent: the instance is still warm and goes back to the pool.
          rec = await move(ctx, rec, 'warm', 0);
          return 'warm';
        }
        const failure = await awaitStatus(ctx, rec.id, 'running', spec.promotion.wakeTimeoutMs, signal);
        if (failure) return retire(ctx, rec, `wake failed: ${failure}`);
        cloud = { ...cloud, status: 'running', busy: false };
        continue;
      }
      case 'deleting':
      case 'failed':
        return retire(ctx, rec, rec.state === 'failed' ? 'failed earlier' : 'delete resumed');
      case 'warm':
        return 'warm';
      case 'active':
        return 'active';
    }
  }
}
