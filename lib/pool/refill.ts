import type { InstanceRecord, PoolSpec } from '../domain/index.js';
import { mapLimit, Semaphore } from '../util/index.js';
import { emit, hostBounds, hostIndex, type PoolContext, withinHostBounds } from './context.js';
import { countPool, type PoolCounts } from './counts.js';
import { type DriveOutcome, drive, retire } from './drive.js';
import { type Launched, launch } from './launch.js';

/**
 * The pool-wide lock under which the warm population is decided: refill's launches and demote's choice of
 * what goes back to the pool. Each holder records its instances (booting, or out of `returning`) before
 * releasing it, so the next decision sees them.
 */
export const WARM_POOL_LOCK = 'refill';

/** How long the warm-pool lock lasts if its holder dies before releasing it (ms). */
export function warmPoolLockMs(spec: PoolSpec): number {
  return 30_000 + spec.hygiene.leaseMs;
}

/**
 * Warm instances per host: `launch` what a refill launches up to; `keep` what a host keeps before its surplus
 * is trimmed (each at least the launch target; the launch targets when absent).
 */
export interface HostTargets {
  launch: ReadonlyMap<string, number>;
  keep?: ReadonlyMap<string, number>;
}

/**
 * Warm instances each host should hold: one map for launching and keeping alike, or worked out from the
 * records the refill decides on (the controller's rule, so that extras stay where instances are at the
 * moment of the refill).
 */
export type RefillTargets =
  | ReadonlyMap<string, number>
  | ((records: readonly InstanceRecord[]) => HostTargets);

export interface RefillPlan {
  /** Launches per host. */
  launch: Map<string, number>;
  /** Warm instances to delete because a host holds more than its target (oldest first). */
  trim: InstanceRecord[];
}

export interface RefillResult {
  /** False when another controller holds the pool's refill lock; nothing was done. */
  ran: boolean;
  launched: string[];
  warm: string[];
  failed: string[];
  /** Launches left where they stood because the refill was stopped; reconcile finishes them. */
  interrupted: string[];
  trimmed: string[];
}

/**
 * Works out what a refill must do: per host, `deficit = target − (warm + booting + warming + returning)`,
 * within the host's bounds, the pool's warm maximum and the host's free capacity. Pure, for tests and the
 * simulator; `counts` when the caller has already counted `records`.
 */
export function planRefill(
  ctx: Pick<PoolContext, 'spec'>,
  records: readonly InstanceRecord[],
  targets: ReadonlyMap<string, number>,
  freeSlots: ReadonlyMap<string, number>,
  keep: ReadonlyMap<string, number> = targets,
  counts: PoolCounts = countPool(ctx.spec, records),
): RefillPlan {
  const { spec } = ctx;
  let pendingTotal = counts.warm + counts.booting + counts.returning;
  const plan: RefillPlan = { launch: new Map(), trim: [] };
  for (const h of counts.hosts) {
    const bounds = hostBounds(spec, h.name);
    if (!bounds) continue;
    const target = withinHostBounds(bounds, targets.get(h.name));
    const pending = h.warm + h.booting + h.returning;
    if (pending < target) {
      const n = Math.min(target - pending, freeSlots.get(h.name) ?? 0, spec.bounds.maxWarm - pendingTotal);
      if (n > 0) {
        plan.launch.set(h.name, n);
        pendingTotal += n;
      }
    } else {
      const kept = Math.min(bounds.max, Math.max(target, keep.get(h.name) ?? target));
      if (h.warm > kept && h.booting === 0 && h.returning === 0) {
        // Trim only a settled host: while launches are still booting toward a target that has since dropped,
        // deleting the ready instances would throw away the fastest capacity and keep the slow.
        const warm = records
          .filter((r) => r.host === h.name && r.state === 'warm')
          .sort((a, b) => a.createdAt - b.createdAt);
        plan.trim.push(...warm.slice(0, h.warm - kept));
      }
    }
  }
  return plan;
}

/**
 * True when a refill toward `targets` would launch or trim something on these records (capacity aside):
 * a decision that finds its pool at target need not start one.
 */
export function refillHasWork(
  ctx: Pick<PoolContext, 'spec'>,
  records: readonly InstanceRecord[],
  targets: HostTargets,
  counts?: PoolCounts,
): boolean {
  const plan = planRefill(ctx, records, targets.launch, hostIndex(ctx.spec).unbounded, targets.keep, counts);
  return plan.launch.size > 0 || plan.trim.length > 0;
}

/**
 * Refill(pool): launches what each host's warm pool lacks and drives the launches to warm; trims hosts
 * above target. Deciding and launching happen under the pool's refill lock, so two controllers never
 * launch for the same deficit; waiting for the boots happens after the lock is released, since a boot can
 * take minutes and a promotion meanwhile may open a new deficit that the next refill must see at once.
 *
 * @example
 * await refill(ctx, new Map([['host-01', 3]]));
 */
export async function refill(
  ctx: PoolContext,
  targets: RefillTargets = new Map(),
  options: {
    signal?: AbortSignal;
    /** Called once the launches are recorded and the lock released, before they are driven to warm. */
    onLaunched?: () => void;
  } = {},
): Promise<RefillResult> {
  const { spec, store, provider } = ctx;
  const result: RefillResult = {
    ran: false,
    launched: [],
    warm: [],
    failed: [],
    interrupted: [],
    trimmed: [],
  };
  if (!(await store.tryLock(spec.name, WARM_POOL_LOCK, ctx.owner, warmPoolLockMs(spec)))) {
    options.onLaunched?.();
    return result;
  }
  result.ran = true;
  const launches: Launched[] = [];
  let trim: InstanceRecord[] = [];
  try {
    const records = await store.list(spec.name);
    const { launch: hostTargets, keep } =
      typeof targets === 'function' ? targets(records) : { launch: targets };
    // Ask the cloud for free capacity only when something is to be launched: most refills find the pool
    // at target, and a hypervisor listing on every tick is load on the cloud's API for nothing.
    let plan = planRefill(ctx, records, hostTargets, hostIndex(spec).unbounded, keep);
    if (plan.launch.size > 0) {
      const capacity = await provider.hosts();
      const free = new Map(capacity.map((c) => [c.name, Math.max(0, c.capacity - c.used)]));
      plan = planRefill(ctx, records, hostTargets, free, keep);
    }
    trim = plan.trim;
    const perHost = new Map<string, Semaphore>();
    const jobs: string[] = [];
    for (const [host, n] of plan.launch) {
      perHost.set(host, new Semaphore(spec.refill.maxLaunchesPerHost));
      for (let i = 0; i < n; i++) jobs.push(host);
    }
    const made = await mapLimit(jobs, spec.refill.concurrency, (host) =>
      perHost.get(host)!.use(() => launch(ctx, host, 'warm')),
    );
    for (const [i, r] of made.entries()) {
      if ('value' in r) launches.push(r.value);
      else ctx.log.warn({ pool: spec.name, host: jobs[i], err: String(r.error) }, 'refill launch refused');
    }
  } finally {
    await store.unlock(spec.name, WARM_POOL_LOCK, ctx.owner);
    options.onLaunched?.();
  }
  result.launched = launches.map((l) => l.record.id);

  const trimmed = await mapLimit(trim, spec.refill.concurrency, (rec) =>
    retire(ctx, rec, 'above warm target', 'deleted'),
  );
  result.trimmed = trim.filter((_, i) => 'value' in trimmed[i]!).map((r) => r.id);

  const outcomes = await mapLimit(launches, spec.refill.concurrency, (l) =>
    drive(ctx, l.record, { signal: options.signal }),
  );
  for (const [i, o] of outcomes.entries()) {
    const id = launches[i]!.record.id;
    if ('value' in o && (o.value as DriveOutcome) === 'warm') result.warm.push(id);
    else if ('error' in o && options.signal?.aborted) result.interrupted.push(id);
    else result.failed.push(id);
  }
  if (result.launched.length > 0 || result.trimmed.length > 0) {
    emit(ctx, 'refilled', {
      launched: result.launched.length,
      warm: result.warm.length,
      failed: result.failed.length,
      interrupted: result.interrupted.length,
      trimmed: result.trimmed.length,
    });
  }
  return result;
}
