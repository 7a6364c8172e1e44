/**
 * Many controllers on one pool at the same moment: promotions never hand out an instance twice and never
 * pass maxActive, and mixes of promote, demote, refill and reconcile (fixed and random) keep every bound
 * and leave the store and the cloud in agreement.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  countPool,
  type DemoteResult,
  demote,
  type PoolContext,
  type PromoteResult,
  promote,
  type ReconcileResult,
  type RefillResult,
  reconcile,
  refill,
} from '../../lib/pool/index.js';
import {
  cloudInstances,
  counts,
  disagreements,
  fill,
  POOL,
  type PoolFixture,
  poolFixture,
  records,
} from '../support/pool-fixture.js';

const CONTROLLERS = 20;

/** 50 warm over 10 hosts, maxActive 40. */
async function fiftyWarm(): Promise<PoolFixture> {
  const fx = poolFixture({ hosts: 10, warmPerHost: 5, maxPerHost: 5, maxActive: 40 });
  const r = await fill(fx);
  expect(r.warm).toHaveLength(50);
  return fx;
}

function promotedAndLaunched(results: readonly PromoteResult[]): string[] {
  return results.flatMap((r) => [...r.promoted, ...r.launched]);
}

describe('concurrent promotions', () => {
  it('20 controllers on 50 warm with maxActive 40: no instance twice, never past the bound', async () => {
    const fx = await fiftyWarm();
    const results = await fx.clock.run(() =>
      Promise.all(
        Array.from({ length: CONTROLLERS }, (_, i) =>
          promote(fx.as(`ctl-${i}`), 3, { claimId: `claim-${i}`, reason: 'burst' }),
        ),
      ),
    );

    const ids = promotedAndLaunched(results);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toHaveLength(40);
    expect(results.flatMap((r) => r.launched)).toEqual([]); // 50 warm: no cold launch needed
    expect(results.reduce((n, r) => n + r.overLimit, 0)).toBe(20);
    // Claims are atomic and taken in call order: the first 13 get 3 each, the 14th the last 1.
    expect(results.map((r) => r.promoted.length)).toEqual([
      ...Array(13).fill(3),
      1,
      ...Array(CONTROLLERS - 14).fill(0),
    ]);
    expect(await counts(fx)).toMatchObject({ serving: 40, active: 40, warm: 10, promoting: 0 });
    // Every promoted instance is active under the id one controller reported.
    const active = (await records(fx)).filter((r) => r.state === 'active').map((r) => r.id);
    expect([...active].sort()).toEqual([...ids].sort());
    expect(await disagreements(fx)).toEqual([]);
    expect(fx.events.of('promoted')).toHaveLength(CONTROLLERS);
  });

  it('20 controllers past the warm pool: warm hits plus cold launches stay within maxActive', async () => {
    const fx = poolFixture({ hosts: 10, warmPerHost: 3, maxPerHost: 5, maxActive: 40 });
    await fill(fx);
    const results = await fx.clock.run(() =>
      Promise.all(
        Array.from({ length: CONTROLLERS }, (_, i) =>
          promote(fx.as(`ctl-${i}`), 3, { claimId: `claim-${i}` }),
        ),
      ),
    );

    const ids = promotedAndLaunched(results);
    expect(new Set(ids).size).toBe(ids.length);
    expect(results.flatMap((r) => r.promoted)).toHaveLength(30);
    expect(results.flatMap((r) => r.launched)).toHaveLength(10);
    expect(results.reduce((n, r) => n + r.overLimit, 0)).toBe(20);
    expect(await counts(fx)).toMatchObject({ serving: 40, active: 40, warm: 0, coldBooting: 0 });
    expect((await cloudInstances(fx)).length).toBe(40);
    expect(await disagreements(fx)).toEqual([]);
  });

  it('retries of the same claim racing each other claim it once', async () => {
    const fx = await fiftyWarm();
    const results = await fx.clock.run(() =>
      Promise.all(Array.from({ length: 5 }, (_, i) => promote(fx.as(`ctl-${i}`), 7, { claimId: 'same' }))),
    );
    expect(results.map((r) => r.fresh)).toEqual([true, false, false, false, false]);
    expect(results[0]!.promoted).toHaveLength(7);
    expect(promotedAndLaunched(results.slice(1))).toEqual([]);
    expect(await counts(fx)).toMatchObject({ active: 7, warm: 43, serving: 7 });
    expect(await disagreements(fx)).toEqual([]);
  });
});

describe('promote, demote and refill at once', () => {
  it('leaves every instance resting, within bounds, with the store and the cloud in agreement', async () => {
    // 10 hosts, target 3, max 5: 30 warm; 10 of them in service before the mix.
    const fx = poolFixture({ hosts: 10, warmPerHost: 3, maxPerHost: 5, maxActive: 40 });
    await fill(fx);
    const setup = await fx.clock.run(() => promote(fx.ctx, 10));
    expect(setup.promoted).toHaveLength(10);

    const [a, b, c, d, e, f] = await fx.clock.run(() =>
      Promise.all([
        promote(fx.as('ctl-a'), 5, { claimId: 'a' }),
        demote(fx.as('ctl-b'), 4),
        refill(fx.as('ctl-c')),
        promote(fx.as('ctl-d'), 5, { claimId: 'd' }),
        demote(fx.as('ctl-e'), 2),
        refill(fx.as('ctl-f')),
      ]),
    );

    // No instance handed to two promotions; demotions took distinct instances, none promoted in this round.
    const promotedNow = [...a.promoted, ...a.launched, ...d.promoted, ...d.launched];
    const demotedNow = [...b.returned, ...b.deleted, ...e.returned, ...e.deleted];
    expect(new Set(promotedNow).size).toBe(promotedNow.length);
    expect(new Set(demotedNow).size).toBe(demotedNow.length);
    expect(promotedNow.filter((id) => demotedNow.includes(id))).toEqual([]);
    expect(promotedNow).toHaveLength(10);
    expect(demotedNow).toHaveLength(6);
    expect([...b.failed, ...e.failed, ...a.failed, ...d.failed]).toEqual([]);
    // Reuse on, every host below its max: all six went back to the pool.
    expect(b.returned.length + e.returned.length).toBe(6);
    // Only one refill decides at a time; the other found the lock taken.
    expect([c.ran, f.ran].sort()).toEqual([false, true]);

    const after = await counts(fx);
    expect(after.active).toBe(10 + 10 - 6);
    expect(after.serving).toBe(14);
    for (const h of after.hosts) expect(h.warm).toBeLessThanOrEqual(5);
    expect(await disagreements(fx)).toEqual([]);

    // A quiet refill afterwards settles every host exactly on its target.
    await fill(fx, undefined, fx.as('ctl-z'));
    const settled = countPool(fx.spec, await fx.store.list(POOL));
    expect(settled.hosts.map((h) => h.warm)).toEqual(Array(10).fill(3));
    expect(settled.active).toBe(14);
    await fx.clock.advance(10_000); // the trimmed instances' deletes finish
    expect(await disagreements(fx)).toEqual([]);
  });
});

type Op =
  | { kind: 'promote'; n: number }
  | { kind: 'demote'; n: number }
  | { kind: 'refill'; h1: number }
  | { kind: 'reconcile' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('promote' as const), n: fc.integer({ min: 1, max: 5 }) }),
  fc.record({ kind: fc.constant('demote' as const), n: fc.integer({ min: 1, max: 5 }) }),
  fc.record({ kind: fc.constant('refill' as const), h1: fc.integer({ min: 0, max: 6 }) }),
  fc.constant({ kind: 'reconcile' as const }),
);

function start(
  op: Op,
  ctx: PoolContext,
): Promise<PromoteResult | DemoteResult | RefillResult | ReconcileResult> {
  if (op.kind === 'promote') return promote(ctx, op.n);
  if (op.kind === 'demote') return demote(ctx, op.n);
  if (op.kind === 'refill') return refill(ctx, new Map([['sim-host-01', op.h1]]));
  return reconcile(ctx);
}

describe('random mixes of concurrent operations', () => {
  it('keep every bound and leave the store and the cloud in agreement', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 6 }),
        fc.array(fc.array(opArb, { minLength: 2, maxLength: 6 }), { minLength: 1, maxLength: 3 }),
        fc.integer({ min: 1, max: 1000 }),
        async (initial, rounds, seed) => {
          const fx = poolFixture({ hosts: 3, warmPerHost: 2, maxPerHost: 3, maxActive: 8, seed });
          await fill(fx);
          await fx.clock.run(() => promote(fx.ctx, initial));
          for (const [round, ops] of rounds.entries()) {
            const results = await fx.clock.run(() =>
              Promise.all(ops.map((op, i) => start(op, fx.as(`ctl-${round}-${i}`)))),
            );
            const handedOut = results.flatMap((r) => ('promoted' in r ? [...r.promoted, ...r.launched] : []));
            expect(new Set(handedOut).size).toBe(handedOut.length);
            const c = await counts(fx);
            expect(c.serving).toBeLessThanOrEqual(8);
            for (const h of c.hosts) expect(h.warm + h.booting + h.returning).toBeLessThanOrEqual(3);
            await fx.clock.advance(10_000); // deletes under way finish
            expect(await disagreements(fx)).toEqual([]);
          }
        },
      ),
      { numRuns: 40, seed: 20240601 },
    );
  });
});
