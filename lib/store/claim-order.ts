import { type InstanceRecord, WAKE_RANK, WarmpoolError } from '../domain/index.js';
import type { NewInstance } from './port.js';

/**
 * Rules every StateStore adapter shares: the record an insert creates, the order a claim picks warm
 * instances in (the Redis adapter runs the same rule in Lua), and what a count may be.
 */

/**
 * Picks `count` warm instances to promote: the fastest tier first and, within a tier, always from the host
 * that has the most left, so that a promotion drains hosts evenly and the pool keeps its spread. Shared by
 * every store adapter that claims in process (the Redis adapter runs the same rule in Lua).
 */
export function pickForPromotion(warm: readonly InstanceRecord[], count: number): InstanceRecord[] {
  const tiers = new Map<number, Map<string, InstanceRecord[]>>();
  for (const rec of warm) {
    const rank = WAKE_RANK[rec.warmState];
    let hosts = tiers.get(rank);
    if (!hosts) {
      hosts = new Map();
      tiers.set(rank, hosts);
    }
    const list = hosts.get(rec.host);
    if (list) list.push(rec);
    else hosts.set(rec.host, [rec]);
  }
  const picked: InstanceRecord[] = [];
  for (const rank of [...tiers.keys()].sort((a, b) => a - b)) {
    const hosts = tiers.get(rank)!;
    // Oldest first within a host: the instance closest to its maximum age goes into service first.
    for (const list of hosts.values())
      list.sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1));
    while (picked.length < count) {
      let best: string | undefined;
      let bestLen = 0;
      for (const [host, list] of hosts) {
        if (list.length > bestLen || (list.length === bestLen && best !== undefined && host < best)) {
          best = host;
          bestLen = list.length;
        }
      }
      if (best === undefined || bestLen === 0) break;
      picked.push(hosts.get(best)!.shift()!);
    }
    if (picked.length >= count) break;
  }
  return picked;
}

/** Instance counts are whole and never negative; anything else is a caller's bug, refused before it acts. */
export function assertCount(name: string, n: number): void {
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new WarmpoolError('invalid_argument', `${name} must be a whole number >= 0 (got ${n})`);
  }
}

/** The record an insert creates: `booting`, version 1, leased to the launcher, times from the clock. */
export function newRecord(rec: NewInstance, now: number): InstanceRecord {
  return {
    id: rec.id,
    pool: rec.pool,
    host: rec.host,
    state: 'booting',
    warmState: rec.warmState,
    purpose: rec.purpose,
    generation: rec.generation,
    createdAt: now,
    since: now,
    version: 1,
    lease: { owner: rec.owner, expiresAt: now + rec.leaseMs },
  };
}
