import type { InstanceRecord } from '../domain/index.js';
import { isWarmpoolError } from '../domain/index.js';
import { mapLimit } from '../util/index.js';
import { emit, hostBounds, type PoolContext, stepLease } from './context.js';
import { countPool } from './counts.js';
import { retire } from './drive.js';

export interface DemoteResult {
  requested: number;
  /** Put back into the warm pool (reuse on scale-in). */
  returned: string[];
  /** Deleted: the host's pool was full, the template outdated, or reuse is off. */
  deleted: string[];
  failed: string[];
}

/**
 * Scale-in: takes `count` instances out of service. With reuse on, each goes back to the warm pool of its
 * host while that host is under its warm maximum and the instance's template is current; the rest are
 * deleted. Instances are taken first from the hosts whose warm pool is furthest below target, newest first,
 * so a scale-in refills the pool where a refill would otherwise have to launch.
 */
export async function demote(
  ctx: PoolContext,
  count: number,
  options: { signal?: AbortSignal } = {},
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

  const toReturn: InstanceRecord[] = [];
  const toDelete: InstanceRecord[] = [];
  for (const rec of taken) {
    const room = (hostBounds(spec, rec.host)?.max ?? 0) - (pending.get(rec.host) ?? 0);
    if (spec.scaleIn.reuse && rec.generation === spec.template.generation && room > 0) {
      toReturn.push(rec);
      pending.set(rec.host, (pending.get(rec.host) ?? 0) + 1);
    } else {
      toDelete.push(rec);
    }
  }

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
