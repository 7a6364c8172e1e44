import {
  IN_FLIGHT_STATES,
  type InstanceRecord,
  isWarmpoolError,
  WARM_STATES,
  type WarmState,
} from '../domain/index.js';
import { ignoreNotFound, isNotFound, type ProviderInstance, TAGS } from '../providers/index.js';
import { mapLimit } from '../util/index.js';
import { emit, leaseExpired, type PoolContext, stepLease } from './context.js';
import { drive, retire } from './drive.js';

export interface ReconcileResult {
  /** In the cloud with the pool's tags but unknown to the store: now recorded. */
  adopted: string[];
  /** In the store but gone from the cloud: forgotten. */
  forgotten: string[];
  /** In-flight steps whose owner's lease expired: taken over and finished. */
  resumed: string[];
  /** Broken, errored or stuck instances torn down (a refill replaces them). */
  replaced: string[];
  /** Warm instances rotated out: older template generation or past their maximum age. */
  rotated: string[];
}

const isWarmState = (s: string): s is WarmState => (WARM_STATES as readonly string[]).includes(s);

/**
 * Reconcile(pool): compares the store with the cloud (the source of truth) and mends the difference.
 * Adopts tagged instances the store lost (a running one is adopted as active: never take an instance out
 * of service on a guess), forgets records of instances that are gone, takes over steps whose controller
 * died (lease expired) and finishes them, replaces errored or unhealthy warm instances, and rotates warm
 * instances built from an older template or older than the pool's maximum age.
 * Needs no lock: every step it takes goes through an atomic lease or transition, so two reconcilers at
 * once do each piece of work once.
 */
export async function reconcile(
  ctx: PoolContext,
  options: { signal?: AbortSignal } = {},
): Promise<ReconcileResult> {
  const { spec, store, provider, clock } = ctx;
  const result: ReconcileResult = { adopted: [], forgotten: [], resumed: [], replaced: [], rotated: [] };
  const [records, cloud] = await Promise.all([store.list(spec.name), provider.list(spec.name)]);
  const inCloud = new Map(cloud.map((c) => [c.id, c]));
  const inStore = new Map(records.map((r) => [r.id, r]));
  const now = clock.now();
  const work: Array<() => Promise<void>> = [];

  for (const inst of cloud) {
    if (inStore.has(inst.id)) continue;
    work.push(() => adopt(ctx, inst, result, options.signal));
  }

  for (const rec of records) {
    const inst = inCloud.get(rec.id);
    if (!inst) {
      work.push(() => forget(ctx, rec, result));
      continue;
    }
    if (IN_FLIGHT_STATES.includes(rec.state) || rec.state === 'failed') {
      if (!leaseExpired(rec, now)) continue;
      work.push(async () => {
        const outcome = await drive(ctx, rec, { cloud: inst, takeOver: true, signal: options.signal });
        (outcome === 'deleted' ? result.replaced : result.resumed).push(rec.id);
        emit(ctx, 'resumed', { id: rec.id, from: rec.state, outcome });
      });
      continue;
    }
    if (inst.status === 'error') {
      work.push(async () => {
        await retire(ctx, rec, inst.fault ?? 'instance in error');
        result.replaced.push(rec.id);
      });
      continue;
    }
    if (rec.state !== 'warm') continue;
    if (inst.status !== rec.warmState || inst.busy) {
      // A warm instance must sleep in its warm state; anything else cannot be handed out safely.
      work.push(async () => {
        await retire(
          ctx,
          rec,
          `unhealthy warm instance: cloud says ${inst.status}${inst.busy ? ' (busy)' : ''}`,
        );
        result.replaced.push(rec.id);
      });
    } else if (rec.generation < spec.template.generation) {
      work.push(async () => {
        await retire(
          ctx,
          rec,
          `template generation ${rec.generation} < ${spec.template.generation}`,
          'rotated',
        );
        result.rotated.push(rec.id);
      });
    } else if (spec.hygiene.maxWarmAgeMs > 0 && now - rec.createdAt > spec.hygiene.maxWarmAgeMs) {
      work.push(async () => {
        await retire(ctx, rec, `older than ${spec.hygiene.maxWarmAgeMs} ms`, 'rotated');
        result.rotated.push(rec.id);
      });
    }
  }

  const done = await mapLimit(work, spec.refill.concurrency, (job) => job());
  for (const r of done) {
    // Someone else got there first (lease, state moved): theirs to finish.
    if ('error' in r && !isWarmpoolError(r.error)) {
      ctx.log.warn(
        { pool: spec.name, err: String(r.error) },
        'reconcile step failed; next reconcile retries',
      );
    }
  }
  return result;
}

async function adopt(
  ctx: PoolContext,
  inst: ProviderInstance,
  result: ReconcileResult,
  signal?: AbortSignal,
): Promise<void> {
  const { spec } = ctx;
  if (inst.status === 'error' || inst.status === 'deleted') {
    await ctx.provider.delete(inst.id).catch(ignoreNotFound);
    result.replaced.push(inst.id);
    return;
  }
  if (inst.busy && inst.status !== 'building') {
    // A wake, sleep or delete is under way on an instance whose record is gone (e.g. Redis came back
    // empty mid-step). Where it ends is not known yet, and a guess is costly: one on its way to sleep,
    // adopted as running, would sit out a boot timeout and then be deleted. The next reconcile adopts it
    // once it has settled.
    ctx.log.info(
      { pool: spec.name, id: inst.id, status: inst.status },
      'busy instance: adopted once settled',
    );
    return;
  }
  const purpose =
    inst.status === 'running'
      ? 'active'
      : inst.status === 'building' && inst.tags[TAGS.purpose] === 'active'
        ? 'active'
        : 'warm';
  const rec = await ctx.store.insert({
    id: inst.id,
    pool: spec.name,
    host: inst.host,
    warmState: isWarmState(inst.status) && inst.status !== 'running' ? inst.status : spec.warmState,
    purpose,
    generation: inst.generation,
    owner: ctx.owner,
    leaseMs: stepLease(ctx, spec.refill.bootTimeoutMs),
  });
  if (rec.lease?.owner !== ctx.owner || rec.state !== 'booting') return;
  result.adopted.push(inst.id);
  emit(ctx, 'adopted', { id: inst.id, host: inst.host, status: inst.status, purpose });
  await drive(ctx, rec, { cloud: inst, signal });
}

async function forget(ctx: PoolContext, rec: InstanceRecord, result: ReconcileResult): Promise<void> {
  // A list can lag a create (EC2 is eventually consistent): ask for the instance itself before forgetting.
  try {
    await ctx.provider.get(rec.id);
    return;
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  if (await ctx.store.remove(ctx.spec.name, rec.id)) {
    result.forgotten.push(rec.id);
    emit(ctx, 'forgotten', { id: rec.id, host: rec.host, state: rec.state });
  }
}
