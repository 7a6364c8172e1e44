/**
 * From demand to targets, as pure functions: how many instances should serve (target tracking with a
 * scale-in stabilisation window) and how many warm instances each host should hold.
 */
import type { PoolSpec } from '../domain/index.js';

/**
 * Target tracking: `ceil(metric / value per instance)`, within the pool's active bounds.
 *
 * @example
 * desiredFromMetric(spec, 950); // perInstance 100 → 10
 */
export function desiredFromMetric(spec: PoolSpec, value: number): number {
  const raw = Math.ceil(Math.max(0, value) / spec.capacity.perInstance - 1e-9);
  return clamp(raw, spec.bounds.minActive, spec.bounds.maxActive);
}

/** Past desired counts, newest last, as [clock ms, desired]. */
export type DesiredHistory = Array<[number, number]>;

/**
 * Scale out at once; scale in only to the highest count desired within the stabilisation window, so a dip
 * between two peaks does not throw away instances the next peak needs (as Kubernetes' HPA does).
 */
export function stabilise(
  spec: Pick<PoolSpec, 'scaleIn'>,
  history: DesiredHistory,
  now: number,
  desired: number,
): { desired: number; history: DesiredHistory } {
  const horizon = now - spec.scaleIn.stabilisationMs;
  const kept: DesiredHistory = history.filter(([t]) => t > horizon);
  kept.push([now, desired]);
  let max = desired;
  for (const [, d] of kept) if (d > max) max = d;
  return { desired: max, history: compact(kept) };
}

/** Drops points that can never be the window's maximum again (a newer one is at least as high). */
function compact(history: DesiredHistory): DesiredHistory {
  const out: DesiredHistory = [];
  for (const point of history) {
    while (out.length > 0 && out[out.length - 1]![1] <= point[1]) out.pop();
    out.push(point);
  }
  return out;
}

/**
 * Warm target per host: each host's configured target, plus `extra` instances (what the forecast says
 * demand may add before a refill lands): first on the hosts that already hold (`held`: warm, booting or
 * returning) instances beyond their target, then one at a time to the host with the most free capacity,
 * each within its host maximum, and the total within the pool's warm maximum.
 */
export function warmTargets(
  spec: PoolSpec,
  extra: number,
  freeSlots: ReadonlyMap<string, number> = new Map(),
  held: ReadonlyMap<string, number> = new Map(),
): Map<string, number> {
  const targets = spreadExtra(
    spec,
    extra,
    spec.hosts.map((h) => freeSlots.get(h.name) ?? Number.MAX_SAFE_INTEGER),
    spec.hosts.map((h) => held.get(h.name) ?? 0),
  );
  return new Map(spec.hosts.map((h, i) => [h.name, targets[i]!]));
}

/**
 * warmTargets on arrays in the order of `spec.hosts` (free room, instances held), for the controller, which
 * has them so from its counts: at every decision of every pool, over every host.
 */
export function spreadExtra(
  spec: PoolSpec,
  extra: number,
  freeSlots: readonly number[],
  held: readonly number[],
): number[] {
  const hosts = spec.hosts;
  const n = hosts.length;
  const target = new Array<number>(n);
  let total = 0;
  for (let i = 0; i < n; i++) {
    const h = hosts[i]!;
    target[i] = clamp(h.target, h.min, h.max);
    total += target[i]!;
  }
  let left = Math.max(0, Math.ceil(extra));
  if (left === 0) return target;
  // Unknown free capacity counts as plenty, but finite: each extra must lower it, or every extra would go
  // to the first host in config order until its max instead of spreading over the hosts.
  const free = freeSlots.slice(0, n);
  // Extras stay first where warm instances already are or are on their way: moving a target to another
  // host would delete a ready instance there only to boot a new one here.
  for (let i = 0; i < n && left > 0; i++) {
    const keep = Math.min(
      left,
      held[i]! - target[i]!,
      hosts[i]!.max - target[i]!,
      spec.bounds.maxWarm - total,
    );
    if (keep <= 0) continue;
    target[i] = target[i]! + keep;
    free[i] = free[i]! - keep;
    total += keep;
    left -= keep;
  }
  // Then one at a time to the host with the most free capacity (the first in config order on a tie), by a
  // heap of the hosts with room.
  const before = (a: number, b: number) => free[a]! > free[b]! || (free[a] === free[b] && a < b);
  const heap: number[] = [];
  const up = (k: number) => {
    while (k > 0) {
      const parent = (k - 1) >> 1;
      if (!before(heap[k]!, heap[parent]!)) break;
      [heap[k], heap[parent]] = [heap[parent]!, heap[k]!];
      k = parent;
    }
  };
  const down = (k: number) => {
    for (;;) {
      const l = 2 * k + 1;
      const r = l + 1;
      let top = k;
      if (l < heap.length && before(heap[l]!, heap[top]!)) top = l;
      if (r < heap.length && before(heap[r]!, heap[top]!)) top = r;
      if (top === k) return;
      [heap[k], heap[top]] = [heap[top]!, heap[k]!];
      k = top;
    }
  };
  if (left > 0 && total < spec.bounds.maxWarm) {
    for (let i = 0; i < n; i++) {
      if (hosts[i]!.max - target[i]! > 0) {
        heap.push(i);
        up(heap.length - 1);
      }
    }
  }
  while (left > 0 && total < spec.bounds.maxWarm && heap.length > 0) {
    const i = heap[0]!;
    target[i] = target[i]! + 1;
    free[i] = free[i]! - 1;
    total++;
    left--;
    if (hosts[i]!.max - target[i]! > 0) {
      down(0);
    } else {
      heap[0] = heap[heap.length - 1]!;
      heap.pop();
      if (heap.length > 0) down(0);
    }
  }
  return target;
}

export function clamp(n: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, n));
}
