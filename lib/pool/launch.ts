import type { InstanceRecord, LaunchPurpose } from '../domain/index.js';
import { type HostCapacity, ignoreNotFound, TAGS } from '../providers/index.js';
import { emit, type PoolContext, stepLease } from './context.js';

export interface Launched {
  record: InstanceRecord;
}

/**
 * Launches one instance on `host` and records it `booting`. The cloud call comes first: if the process
 * dies between the two, the instance carries the pool's tags and reconcile adopts it, so nothing is lost.
 * Returns once the launch is recorded; `drive` takes it on from there.
 */
export async function launch(
  ctx: PoolContext,
  host: string,
  purpose: LaunchPurpose,
  claimId?: string,
): Promise<Launched> {
  const { spec } = ctx;
  const inst = await ctx.provider.create({
    pool: spec.name,
    host,
    params: spec.template.params,
    generation: spec.template.generation,
    tags: { [TAGS.purpose]: purpose },
  });
  try {
    const record = await ctx.store.insert({
      id: inst.id,
      pool: spec.name,
      host,
      warmState: spec.warmState,
      purpose,
      generation: spec.template.generation,
      owner: ctx.owner,
      leaseMs: stepLease(ctx, spec.refill.bootTimeoutMs),
      ...(claimId === undefined ? {} : { claimId }),
    });
    emit(ctx, 'launched', { id: inst.id, host, purpose });
    return { record };
  } catch (err) {
    // Not recorded (e.g. the claim's cold slot lapsed): do not leave an orphan running.
    await ctx.provider.delete(inst.id).catch(ignoreNotFound);
    throw err;
  }
}

/**
 * Chooses hosts for `count` launches: each goes to the pool host with the most free slots left, so cold
 * launches spread out and no host is filled while another sits empty.
 */
export function chooseHosts(
  spec: PoolContext['spec'],
  capacity: readonly HostCapacity[],
  count: number,
): string[] {
  const free = new Map<string, number>();
  for (const h of spec.hosts) {
    const cap = capacity.find((c) => c.name === h.name);
    free.set(h.name, cap ? Math.max(0, cap.capacity - cap.used) : 0);
  }
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    let best: string | undefined;
    let bestFree = 0;
    for (const [name, n] of free) {
      if (n > bestFree) {
        best = name;
        bestFree = n;
      }
    }
    if (best === undefined) break;
    out.push(best);
    free.set(best, bestFree - 1);
  }
  return out;
}
