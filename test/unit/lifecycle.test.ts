import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  canTransition,
  IN_FLIGHT_STATES,
  INSTANCE_STATES,
  type InstanceRecord,
  type InstanceState,
  SERVING_STATES,
  TRANSITIONS,
  WAKE_RANK,
  WARM_STATES,
  WARMING_STATES,
  type WarmState,
} from '../../lib/domain/index.js';
import { pickForPromotion } from '../../lib/store/index.js';

describe('canTransition', () => {
  it('agrees with TRANSITIONS on every pair of states', () => {
    for (const from of INSTANCE_STATES) {
      for (const to of INSTANCE_STATES) {
        expect(canTransition(from, to), `${from} → ${to}`).toBe(TRANSITIONS[from].includes(to));
      }
    }
  });

  it('allows the warm-pool loop and the cold launch', () => {
    const loop: InstanceState[] = ['booting', 'warming', 'warm', 'promoting', 'active', 'returning', 'warm'];
    for (let i = 1; i < loop.length; i++) expect(canTransition(loop[i - 1]!, loop[i]!)).toBe(true);
    expect(canTransition('booting', 'active')).toBe(true);
    expect(canTransition('promoting', 'warm')).toBe(true);
  });

  it('refuses shortcuts around the pool and the health check', () => {
    expect(canTransition('warm', 'active')).toBe(false);
    expect(canTransition('booting', 'warm')).toBe(false);
    expect(canTransition('warming', 'promoting')).toBe(false);
    expect(canTransition('active', 'warm')).toBe(false);
    expect(canTransition('failed', 'warm')).toBe(false);
    expect(canTransition('failed', 'booting')).toBe(false);
  });

  it('has no self-loops: a retried step is answered by the store, not by the table', () => {
    for (const s of INSTANCE_STATES) expect(canTransition(s, s)).toBe(false);
  });

  it('makes deleting terminal, reachable from every other state; failed leads only to deleting', () => {
    expect(TRANSITIONS.deleting).toEqual([]);
    for (const to of INSTANCE_STATES) expect(canTransition('deleting', to)).toBe(false);
    for (const from of INSTANCE_STATES) {
      if (from !== 'deleting') expect(canTransition(from, 'deleting'), from).toBe(true);
      if (from !== 'deleting' && from !== 'failed') expect(canTransition(from, 'failed'), from).toBe(true);
    }
    expect(TRANSITIONS.failed).toEqual(['deleting']);
  });

  it('only names known states, and every state is reachable from booting', () => {
    const seen = new Set<InstanceState>(['booting']);
    const queue: InstanceState[] = ['booting'];
    for (let s = queue.shift(); s !== undefined; s = queue.shift()) {
      for (const next of TRANSITIONS[s]) {
        expect(INSTANCE_STATES).toContain(next);
        if (!seen.has(next)) {
          seen.add(next);
          queue.push(next);
        }
      }
    }
    expect([...seen].sort()).toEqual([...INSTANCE_STATES].sort());
    expect(Object.keys(TRANSITIONS).sort()).toEqual([...INSTANCE_STATES].sort());
  });

  it('classifies states: serving, warming and in-flight', () => {
    expect([...SERVING_STATES].sort()).toEqual(['active', 'promoting']);
    expect([...WARMING_STATES].sort()).toEqual(['booting', 'warming']);
    expect([...IN_FLIGHT_STATES].sort()).toEqual([
      'booting',
      'deleting',
      'promoting',
      'returning',
      'warming',
    ]);
  });
});

describe('WAKE_RANK', () => {
  it('orders warm states from the fastest wake to the slowest', () => {
    const bySpeed = [...WARM_STATES].sort((a, b) => WAKE_RANK[a] - WAKE_RANK[b]);
    expect(bySpeed).toEqual(['running', 'paused', 'suspended', 'hibernated', 'stopped', 'shelved']);
  });

  it('gives every warm state a distinct rank', () => {
    expect(Object.keys(WAKE_RANK).sort()).toEqual([...WARM_STATES].sort());
    expect(new Set(Object.values(WAKE_RANK)).size).toBe(WARM_STATES.length);
    expect(WAKE_RANK.paused).toBeLessThan(WAKE_RANK.stopped);
  });
});

let seq = 0;
function warm(host: string, createdAt: number, warmState: WarmState = 'paused', id?: string): InstanceRecord {
  seq += 1;
  return {
    id: id ?? `${host}-${warmState}-${createdAt}-${seq}`,
    pool: 'web',
    host,
    state: 'warm',
    warmState,
    purpose: 'warm',
    generation: 1,
    createdAt,
    since: createdAt,
    version: 3,
  };
}

function hostsOf(recs: readonly InstanceRecord[]): string[] {
  return recs.map((r) => r.host);
}

describe('pickForPromotion', () => {
  it('always takes from the host with the most left, the lowest host name on a tie', () => {
    const pool = [
      ...[1, 2, 3, 4].map((t) => warm('h1', t)),
      ...[1, 2].map((t) => warm('h2', t)),
      warm('h3', 1),
    ];
    // 4/2/1 → 3/2/1 → 2/2/1 → (tie, h1) 1/2/1 → 1/1/1 → (tie) h1, h2, h3.
    expect(hostsOf(pickForPromotion(pool, 3))).toEqual(['h1', 'h1', 'h1']);
    expect(hostsOf(pickForPromotion(pool, 7))).toEqual(['h1', 'h1', 'h1', 'h2', 'h1', 'h2', 'h3']);
    expect(hostsOf(pickForPromotion(pool, 4))).toEqual(['h1', 'h1', 'h1', 'h2']);
  });

  it('drains evenly spread hosts round-robin', () => {
    const pool = ['c', 'a', 'b'].flatMap((h) => [warm(h, 1), warm(h, 2)]);
    expect(hostsOf(pickForPromotion(pool, 6))).toEqual(['a', 'b', 'c', 'a', 'b', 'c']);
  });

  it('takes the fastest tier first, spreading within each tier', () => {
    const pool = [
      warm('h1', 1, 'stopped'),
      warm('h1', 2, 'stopped'),
      warm('h2', 1, 'stopped'),
      warm('h3', 1, 'paused'),
      warm('h3', 2, 'paused'),
      warm('h4', 5, 'shelved'),
      warm('h4', 1, 'running'),
    ];
    const picked = pickForPromotion(pool, 7);
    expect(picked.map((r) => [r.warmState, r.host])).toEqual([
      ['running', 'h4'],
      ['paused', 'h3'],
      ['paused', 'h3'],
      ['stopped', 'h1'],
      ['stopped', 'h1'],
      ['stopped', 'h2'],
      ['shelved', 'h4'],
    ]);
    expect(pickForPromotion(pool, 2).map((r) => r.warmState)).toEqual(['running', 'paused']);
  });

  it('a slower tier on a fuller host does not jump ahead of a faster one', () => {
    const pool = [...[1, 2, 3, 4, 5].map((t) => warm('big', t, 'stopped')), warm('small', 1, 'paused')];
    expect(pickForPromotion(pool, 1).map((r) => r.host)).toEqual(['small']);
  });

  it('takes the oldest instance of a host first, by id when created at the same time', () => {
    const pool = [
      warm('h1', 30, 'paused', 'a'),
      warm('h1', 10, 'paused', 'z'),
      warm('h1', 20, 'paused', 'm'),
      warm('h1', 20, 'paused', 'b'),
    ];
    expect(pickForPromotion(pool, 4).map((r) => r.id)).toEqual(['z', 'b', 'm', 'a']);
    expect(pickForPromotion(pool, 1).map((r) => r.id)).toEqual(['z']);
  });

  it('returns everything when asked for more than there is, and nothing for zero or less', () => {
    const pool = [warm('h1', 1), warm('h2', 1, 'stopped'), warm('h1', 2)];
    expect(pickForPromotion(pool, 10)).toHaveLength(3);
    expect(new Set(pickForPromotion(pool, 10))).toEqual(new Set(pool));
    expect(pickForPromotion(pool, 0)).toEqual([]);
    expect(pickForPromotion(pool, -2)).toEqual([]);
    expect(pickForPromotion([], 5)).toEqual([]);
  });

  it('leaves its input as it was', () => {
    const pool = [warm('h1', 3), warm('h2', 1), warm('h1', 1)];
    const before = structuredClone(pool);
    pickForPromotion(pool, 2);
    expect(pool).toEqual(before);
  });

  const arbPool = fc
    .array(
      fc.record({
        host: fc.constantFrom('h1', 'h2', 'h3', 'h4'),
        createdAt: fc.integer({ min: 0, max: 50 }),
        warmState: fc.constantFrom(...WARM_STATES),
      }),
      { maxLength: 40 },
    )
    .map((items) =>
      items.map((spec, i) =>
        warm(spec.host, spec.createdAt, spec.warmState, `i${String(i).padStart(2, '0')}`),
      ),
    );

  it('property: picks min(count, available) distinct instances by tier, spread and age', () => {
    fc.assert(
      fc.property(arbPool, fc.integer({ min: 0, max: 45 }), (pool, count) => {
        const picked = pickForPromotion(pool, count);
        expect(picked).toHaveLength(Math.min(count, pool.length));
        expect(new Set(picked.map((r) => r.id)).size).toBe(picked.length);
        for (const r of picked) expect(pool).toContain(r);

        // Replay the picks against what is left: each one must come from the fastest tier that has any,
        // from a host with the most left in that tier, and be that host's oldest in the tier.
        const left = [...pool];
        for (const r of picked) {
          const rank = Math.min(...left.map((x) => WAKE_RANK[x.warmState]));
          expect(WAKE_RANK[r.warmState]).toBe(rank);
          const tier = left.filter((x) => WAKE_RANK[x.warmState] === rank);
          const perHost = new Map<string, InstanceRecord[]>();
          for (const x of tier) perHost.set(x.host, [...(perHost.get(x.host) ?? []), x]);
          const most = Math.max(...[...perHost.values()].map((l) => l.length));
          const mine = perHost.get(r.host) ?? [];
          expect(mine.length).toBe(most);
          const oldest = Math.min(...mine.map((x) => x.createdAt));
          expect(r.createdAt).toBe(oldest);
          left.splice(left.indexOf(r), 1);
        }
      }),
      { numRuns: 300 },
    );
  });
});
