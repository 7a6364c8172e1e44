/**
 * Promote(pool, n) on a VirtualClock + SimCloud + MemoryStore: warm hits spread over hosts, cold misses for
 * the rest, never past maxActive, idempotent by claim id, a failed wake torn down, and the wake latency of
 * each warm state.
 */
import { describe, expect, it } from 'vitest';
import { promote } from '../../lib/pool/index.js';
import { TransientError } from '../../lib/providers/index.js';
import {
  cloudInstances,
  counts,
  disagreements,
  fill,
  POOL,
  poolFixture,
  records,
  tally,
  warmByHost,
} from '../support/pool-fixture.js';

const [H1, H2, H3] = ['sim-host-01', 'sim-host-02', 'sim-host-03'];

describe('refill from empty', () => {
  it('fills each host to its target with paused warm instances', async () => {
    const fx = poolFixture({ hosts: 3, warmPerHost: 2 });
    const r = await fill(fx);

    expect(r.ran).toBe(true);
    expect(r.launched).toHaveLength(6);
    expect([...r.warm].sort()).toEqual([...r.launched].sort());
    expect(r.failed).toEqual([]);
    expect(r.trimmed).toEqual([]);
    expect(await warmByHost(fx)).toEqual({ [H1!]: 2, [H2!]: 2, [H3!]: 2 });
    for (const rec of await records(fx)) {
      expect(rec).toMatchObject({ state: 'warm', warmState: 'paused', purpose: 'warm', generation: 1 });
      expect(rec.lease).toBeUndefined();
    }
    const cloud = await cloudInstances(fx);
    expect(cloud.map((c) => [c.status, c.busy])).toEqual(Array(6).fill(['paused', false]));
    expect(await disagreements(fx)).toEqual([]);
    expect(fx.events.of('launched').map((e) => e.data.purpose)).toEqual(Array(6).fill('warm'));
    expect(fx.events.of('refilled').map((e) => e.data)).toEqual([
      { launched: 6, warm: 6, failed: 0, interrupted: 0, trimmed: 0 },
    ]);
  });
});

describe('promote', () => {
  it('claims warm instances from the host with the most warm first and puts them in service', async () => {
    const fx = poolFixture({ hosts: 3, warmPerHost: 2 });
    await fill(
      fx,
      new Map([
        [H1!, 4],
        [H2!, 2],
        [H3!, 1],
      ]),
    );
    expect(await warmByHost(fx)).toEqual({ [H1!]: 4, [H2!]: 2, [H3!]: 1 });

    const r = await fx.clock.run(() => promote(fx.ctx, 4, { reason: 'test' }));

    expect(r).toMatchObject({ requested: 4, launched: [], failed: [], overLimit: 0, fresh: true });
    expect(r.promoted).toHaveLength(4);
    const recs = await records(fx);
    const promoted = recs.filter((rec) => r.promoted.includes(rec.id));
    expect(promoted.map((rec) => rec.state)).toEqual(Array(4).fill('active'));
    // 4,2,1 → h1 until it ties with h2 (h1 wins the tie by name), then h2.
    expect(tally(promoted, (rec) => rec.host)).toEqual({ [H1!]: 3, [H2!]: 1 });
    expect(await warmByHost(fx)).toEqual({ [H1!]: 1, [H2!]: 1, [H3!]: 1 });
    expect(await disagreements(fx)).toEqual([]);

    const events = fx.events.of('promoted');
    expect(events).toHaveLength(1);
    expect(events[0]!.data).toMatchObject({
      requested: 4,
      warmHits: 4,
      coldMisses: 0,
      failed: 0,
      overLimit: 0,
      reason: 'test',
    });
    expect(fx.refillRequests).toEqual([POOL]);
    expect(fx.events.of('launched')).toHaveLength(7); // the fill's, none by the promotion
  });

  it('cold-launches what the warm pool cannot serve, and counts those as cold misses', async () => {
    const fx = poolFixture({ hosts: 3, warmPerHost: 2 });
    await fill(fx);
    const launchedBefore = fx.events.of('launched').length;
    const t0 = fx.clock.now();

    const r = await fx.clock.run(() => promote(fx.ctx, 9));

    expect(r.promoted).toHaveLength(6);
    expect(r.launched).toHaveLength(3);
    expect(r.failed).toEqual([]);
    expect(r.overLimit).toBe(0);
    const recs = await records(fx);
    expect(recs.filter((rec) => r.launched.includes(rec.id)).map((rec) => [rec.state, rec.purpose])).toEqual(
      Array(3).fill(['active', 'active']),
    );
    expect(
      fx.events
        .of('launched')
        .slice(launchedBefore)
        .map((e) => e.data.purpose),
    ).toEqual(Array(3).fill('active'));
    // The cold launches spread over the hosts by free slots: one each.
    expect(
      tally(
        recs.filter((rec) => r.launched.includes(rec.id)),
        (rec) => rec.host,
      ),
    ).toEqual({
      [H1!]: 1,
      [H2!]: 1,
      [H3!]: 1,
    });
    expect(fx.events.of('promoted')[0]!.data).toMatchObject({ requested: 9, warmHits: 6, coldMisses: 3 });
    expect((await counts(fx)).serving).toBe(9);
    expect(await disagreements(fx)).toEqual([]);

    // Time to serve: a warm hit is a wake (well under a second), a cold miss is a launch (tens of seconds).
    const warmAt = r.ready.filter((x) => r.promoted.includes(x.id)).map((x) => x.at - t0);
    const coldAt = r.ready.filter((x) => r.launched.includes(x.id)).map((x) => x.at - t0);
    expect(warmAt).toHaveLength(6);
    expect(coldAt).toHaveLength(3);
    expect(Math.max(...warmAt)).toBeLessThan(1000);
    expect(Math.min(...coldAt)).toBeGreaterThan(30_000);
    expect(Math.min(...coldAt)).toBeGreaterThan(50 * Math.max(...warmAt));
    expect(r.warmReadyAt - t0).toBeLessThan(1000);
    expect(r.readyAt).toBe(Math.max(...r.ready.map((x) => x.at)));
  });

  it('never passes maxActive: the rest is reported over the limit', async () => {
    const fx = poolFixture({ hosts: 3, warmPerHost: 2, maxActive: 5 });
    await fill(fx);

    const first = await fx.clock.run(() => promote(fx.ctx, 8));
    expect(first.promoted).toHaveLength(5);
    expect(first.launched).toEqual([]);
    expect(first.overLimit).toBe(3);
    expect(await counts(fx)).toMatchObject({ serving: 5, active: 5, warm: 1 });

    const second = await fx.clock.run(() => promote(fx.ctx, 2));
    expect(second.promoted).toEqual([]);
    expect(second.launched).toEqual([]);
    expect(second.overLimit).toBe(2);
    expect(await counts(fx)).toMatchObject({ serving: 5, active: 5, warm: 1 });
    expect(
      fx.events.of('promoted').map((e) => [e.data.warmHits, e.data.coldMisses, e.data.overLimit]),
    ).toEqual([
      [5, 0, 3],
      [0, 0, 2],
    ]);
  });

  it('never passes maxActive with cold launches either', async () => {
    const fx = poolFixture({ hosts: 3, warmPerHost: 2, maxActive: 8 });
    await fill(fx);
    const r = await fx.clock.run(() => promote(fx.ctx, 12));
    expect(r.promoted).toHaveLength(6);
    expect(r.launched).toHaveLength(2);
    expect(r.overLimit).toBe(4);
    expect(await counts(fx)).toMatchObject({ serving: 8, active: 8, warm: 0, coldBooting: 0 });
    expect((await cloudInstances(fx)).length).toBe(8);
  });

  it('a retried claim id claims nothing more, from this controller or another', async () => {
    const fx = poolFixture({ hosts: 3, warmPerHost: 2 });
    await fill(fx);
    const first = await fx.clock.run(() => promote(fx.ctx, 8, { claimId: 'req-1' }));
    expect(first).toMatchObject({ fresh: true, overLimit: 0 });
    expect(first.promoted).toHaveLength(6);
    expect(first.launched).toHaveLength(2);
    const before = await records(fx);
    const cloudBefore = (await cloudInstances(fx)).length;
    const launchedBefore = fx.events.of('launched').length;

    const again = await fx.clock.run(() => promote(fx.ctx, 8, { claimId: 'req-1' }));
    expect(again).toMatchObject({ fresh: false, promoted: [], launched: [], failed: [], overLimit: 0 });
    const elsewhere = await fx.clock.run(() => promote(fx.as('ctl-b'), 8, { claimId: 'req-1' }));
    expect(elsewhere).toMatchObject({ fresh: false, promoted: [], launched: [], failed: [], overLimit: 0 });

    expect(await records(fx)).toEqual(before);
    expect((await cloudInstances(fx)).length).toBe(cloudBefore);
    expect(fx.events.of('launched')).toHaveLength(launchedBefore);
    expect(fx.events.of('promoted')).toHaveLength(1);
    expect(await counts(fx)).toMatchObject({ serving: 8, warm: 0 });
  });

  it('retires an instance whose wake fails and promotes the others', async () => {
    const fx = poolFixture({ hosts: 3, warmPerHost: 2 });
    await fill(fx);
    fx.provider.injectFault('wake', new TransientError('nova: 503 on unpause'));

    const r = await fx.clock.run(() => promote(fx.ctx, 3));

    expect(r.promoted).toHaveLength(2);
    expect(r.failed).toHaveLength(1);
    expect(r.launched).toEqual([]);
    const failedId = r.failed[0]!;
    expect(await fx.store.get(POOL, failedId)).toBeUndefined();
    // The first claimed (host 01, the name that wins the 2-2-2 tie) got the fault.
    expect(fx.events.of('failed').map((e) => [e.data.id, e.data.host])).toEqual([[failedId, H1]]);
    expect(String(fx.events.of('failed')[0]!.data.reason)).toContain('503 on unpause');
    expect(fx.events.of('promoted')[0]!.data).toMatchObject({ warmHits: 2, failed: 1, coldMisses: 0 });
    await fx.clock.advance(10_000); // the delete finishes
    expect((await cloudInstances(fx)).map((c) => c.id)).not.toContain(failedId);
    expect(await counts(fx)).toMatchObject({ active: 2, warm: 3, serving: 2 });
    expect(await disagreements(fx)).toEqual([]);
  });

  it('promotes from suspended in seconds and from paused well under one', async () => {
    const wake = async (warmState: 'paused' | 'suspended') => {
      const fx = poolFixture({ hosts: 3, warmPerHost: 2, warmState });
      await fill(fx);
      expect((await cloudInstances(fx)).map((c) => c.status)).toEqual(Array(6).fill(warmState));
      const t0 = fx.clock.now();
      const r = await fx.clock.run(() => promote(fx.ctx, 3));
      expect(r.promoted).toHaveLength(3);
      expect(r.launched).toEqual([]);
      return r.warmReadyAt - t0;
    };
    const paused = await wake('paused');
    const suspended = await wake('suspended');
    expect(paused).toBeLessThan(1000);
    // 4 GiB of guest memory read back at 500 MB/s: about 8.6 s, within the model's ±15 % jitter.
    expect(suspended).toBeGreaterThan(7000);
    expect(suspended).toBeLessThan(11_000);
  });
});
