import type { InstanceRecord, PoolSpec } from '../domain/index.js';

export interface HostCounts {
  name: string;
  warm: number;
  active: number;
  /** Launched for the pool and not yet warm (booting or warming). */
  booting: number;
  promoting: number;
  returning: number;
  failed: number;
}

export interface PoolCounts {
  name: string;
  warm: number;
  active: number;
  booting: number;
  promoting: number;
  returning: number;
  failed: number;
  /** Cold launches on their way straight into service. */
  coldBooting: number;
  /** Instances in service or about to be: what the bound `maxActive` applies to. */
  serving: number;
  hosts: HostCounts[];
}

/**
 * Counts a pool's records by host and state. Hosts of the spec come first in config order, so every
 * configured host shows up even when it holds nothing; a host the spec no longer names is listed after.
 */
export function countPool(spec: PoolSpec, records: readonly InstanceRecord[]): PoolCounts {
  const hosts = new Map<string, HostCounts>();
  const host = (name: string): HostCounts => {
    let h = hosts.get(name);
    if (!h) {
      h = { name, warm: 0, active: 0, booting: 0, promoting: 0, returning: 0, failed: 0 };
      hosts.set(name, h);
    }
    return h;
  };
  for (const h of spec.hosts) host(h.name);
  let coldBooting = 0;
  for (const rec of records) {
    const h = host(rec.host);
    switch (rec.state) {
      case 'warm':
        h.warm++;
        break;
      case 'active':
        h.active++;
        break;
      case 'booting':
        if (rec.purpose === 'active') coldBooting++;
        else h.booting++;
        break;
      case 'warming':
        h.booting++;
        break;
      case 'promoting':
        h.promoting++;
        break;
      case 'returning':
        h.returning++;
        break;
      case 'failed':
      case 'deleting':
        h.failed++;
        break;
    }
  }
  const list = [...hosts.values()];
  const sum = (key: keyof Omit<HostCounts, 'name'>) => list.reduce((n, h) => n + h[key], 0);
  const active = sum('active');
  const promoting = sum('promoting');
  return {
    name: spec.name,
    warm: sum('warm'),
    active,
    booting: sum('booting'),
    promoting,
    returning: sum('returning'),
    failed: sum('failed'),
    coldBooting,
    serving: active + promoting + coldBooting,
    hosts: list,
  };
}
