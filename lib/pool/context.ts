import type { Clock } from '../clock/index.js';
import type { HostBounds, InstanceRecord, PoolSpec } from '../domain/index.js';
import type { EventSink, PoolEventType } from '../events/index.js';
import type { Logger } from '../log/index.js';
import type { CloudProvider } from '../providers/index.js';
import type { StateStore } from '../store/index.js';

/** The ports one pool's operations run on. Nothing in lib/pool reaches a cloud, a store or time otherwise. */
export interface PoolDeps {
  store: StateStore;
  provider: CloudProvider;
  clock: Clock;
  events: EventSink;
  log: Logger;
  /** This controller's name in leases and locks. */
  owner: string;
  /** New idempotency keys (claim ids); crypto.randomUUID by default. */
  newId?: () => string;
  /** Asks for a refill of the pool soon (runtime: next tick; Lambda: async invoke). */
  requestRefill?: (pool: string) => void;
}

export interface PoolContext extends PoolDeps {
  spec: PoolSpec;
}

export function emit(ctx: PoolContext, type: PoolEventType, data: Record<string, unknown>): void {
  ctx.events.emit({ type, pool: ctx.spec.name, time: ctx.clock.now(), data });
}

/**
 * Maps over a spec's hosts, built once per hosts list: a pool of many hosts looks them up at every decision.
 * `byName`: each host's bounds; `unbounded`: room without limit on every host (a plan made before asking the
 * cloud for its capacity).
 */
export function hostIndex(spec: PoolSpec): {
  byName: ReadonlyMap<string, HostBounds>;
  unbounded: ReadonlyMap<string, number>;
} {
  let index = hostIndexes.get(spec.hosts);
  if (!index) {
    index = {
      byName: new Map(spec.hosts.map((h) => [h.name, h])),
      unbounded: new Map(spec.hosts.map((h) => [h.name, Number.MAX_SAFE_INTEGER])),
    };
    hostIndexes.set(spec.hosts, index);
  }
  return index;
}
const hostIndexes = new WeakMap<PoolSpec['hosts'], ReturnType<typeof hostIndex>>();

export function hostBounds(spec: PoolSpec, host: string): HostBounds | undefined {
  return hostIndex(spec).byName.get(host);
}

/** `n` warm instances held within a host's min and max; the host's configured target by default. */
export function withinHostBounds(bounds: HostBounds, n: number = bounds.target): number {
  return Math.min(bounds.max, Math.max(bounds.min, n));
}

/** Lease for a step that may take `stepMs`: the step's own bound plus the pool's grace. */
export function stepLease(ctx: PoolContext, stepMs: number): number {
  return stepMs + ctx.spec.hygiene.leaseMs;
}

/** True when nobody holds a live lease on the record. */
export function leaseExpired(rec: InstanceRecord, now: number): boolean {
  return rec.lease === undefined || rec.lease.expiresAt <= now;
}
