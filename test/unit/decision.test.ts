/**
 * One pool's decision as a pure function (decidePool): what the warm policy is told about the pool it had.
 */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../lib/config/index.js';
import { decidePool, type PoolPolicyState } from '../../lib/controller/index.js';
import type { InstanceRecord } from '../../lib/domain/index.js';
import { predictivePolicy } from '../../lib/policy/index.js';
import { countPool } from '../../lib/pool/index.js';

const HOSTS = ['h1', 'h2', 'h3', 'h4'];
const STEP = 60_000;
const spec = parseConfig(
  {
    providers: { sim: { kind: 'sim', hosts: HOSTS, capacityPerHost: 100 } },
    pools: [
      {
        name: 'web',
        provider: 'sim',
        template: { params: { image: 'i', flavor: 'f' } },
        warm: { state: 'paused', perHost: { min: 0, target: 1, max: 50 }, hosts: HOSTS },
        active: { min: 0, max: 400 },
        capacity: { metric: 'load', perInstance: 1, intervalSeconds: STEP / 1000 },
      },
    ],
  },
  'test',
).pools[0]!;

function record(host: string, k: number, state: InstanceRecord['state']): InstanceRecord {
  return {
    id: `${host}-${k}`,
    pool: 'web',
    host,
    state,
    warmState: 'paused',
    purpose: state === 'active' ? 'active' : 'warm',
    generation: 1,
    createdAt: 0,
    since: 0,
    version: 1,
  };
}

/** A day of one-minute decisions on a demand that rises and falls by 20 every half hour. */
function dayOfDecisions(records: (targets: ReadonlyMap<string, number> | undefined) => InstanceRecord[]) {
  const policy = predictivePolicy(spec);
  let prev: PoolPolicyState | undefined;
  let targets: ReadonlyMap<string, number> | undefined;
  let largest = 0;
  const start = Date.UTC(2026, 0, 1);
  for (let row = 1; row <= 1440; row++) {
    const now = start + row * STEP;
    const demand = 100 + (Math.floor(row / 30) % 2) * 20;
    const d = decidePool({
      spec,
      now,
      prev,
      closedAt: now - STEP,
      closed: { count: 1, sum: demand, max: demand, last: demand, lastTs: now - STEP },
      open: undefined,
      breach: undefined,
      counts: countPool(spec, records(targets)),
      warmPolicy: policy,
    });
    prev = d.next;
    targets = d.targets.launch;
    if (row > 720) largest = Math.max(largest, d.extra.launch);
  }
  return largest;
}

describe('decidePool', () => {
  it('does not raise the margin for warm instances no refill is bringing', () => {
    const active = HOSTS.flatMap((h) => Array.from({ length: 30 }, (_, k) => record(h, k, 'active')));
    // Refills land at once: every host holds its target.
    const landed = dayOfDecisions((targets) => [
      ...active,
      ...HOSTS.flatMap((h) =>
        Array.from({ length: targets?.get(h) ?? 1 }, (_, k) => record(h, 100 + k, 'warm')),
      ),
    ]);
    // The cloud has no room: the pool keeps its one warm instance per host and nothing boots.
    const stuck = dayOfDecisions(() => [...active, ...HOSTS.map((h) => record(h, 100, 'warm'))]);
    expect(landed).toBeGreaterThanOrEqual(20); // a jump of 20 comes every hour
    expect(stuck).toBeLessThanOrEqual(landed + 2);
  });
});
