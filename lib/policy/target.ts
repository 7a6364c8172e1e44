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
  const targets = new Map<string, number>();
  let total = 0;
  for (const h of spec.hosts) {
    const t = clamp(h.target, h.min, h.max);
    targets.set(h.name, t);
    total += t;
  }
  // Unknown free capacity counts as plenty, but finite: each extra must lower it, or every extra would go
  // to the first host in config order until its max instead of spreading over the hosts.
  const free = new Map(spec.hosts.map((h) => [h.name, freeSlots.get(h.name) ?? Number.MAX_SAFE_INTEGER]));
  let left = Math.max(0, Math.ceil(extra));
  // Extras stay first where warm instances already are or are on their way: moving a target to another
  // host would delete a ready instance there only to boot a new one here.
  for (const h of spec.hosts) {
    const t = targets.get(h.name)!;
    const keep = Math.min(left, (held.get(h.name) ?? 0) - t, h.max - t, spec.bounds.maxWarm - total);
    if (keep <= 0) continue;
    targets.set(h.name, t + keep);
    free.set(h.name, free.get(h.name)! - keep);
    total += keep;
    left -= keep;
  }
  while (left > 0 && total < spec.bounds.maxWarm) {
    let best: string | undefined;
    let bestFree = Number.NEGATIVE_INFINITY;
    for (const h of spec.hosts) {
      const room = h.max - targets.get(h.name)!;
      const f = free.get(h.name)!;
      if (room > 0 && f > bestFree) {
        best = h.name;
        bestFree = f;
      }
    }
    if (best === undefined) break;
    targets.set(best, targets.get(best)! + 1);
    free.set(best, bestFree - 1);
    total++;
    left--;
  }
  return targets;
}

export function clamp(n: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, n));
}
