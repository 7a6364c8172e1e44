/**
 * Reconcile(pool): finishing an interrupted refill with no instance lost, adopting and forgetting what the
 * store and the cloud disagree on, replacing errored instances, rotating outdated or old warm instances,
 * leaving live leases alone, and two reconcilers at once doing each piece of work once.
 */
import { describe, expect, it } from 'vitest';
import type { InstanceRecord, PoolSpec } from '../../lib/domain/index.js';
import { promote, type ReconcileResult, reconcile, refill } from '../../lib/pool/index.js';
import { TAGS } from '../../lib/providers/index.js';
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

const H1 = 'sim-host-01';

/** Latest lease expiry over the records (the point after which every interrupted step may be taken over). */
function lastLeaseExpiry(recs: readonly InstanceRecord[]): number {
  const leases = recs.map((r) => r.lease?.expiresAt ?? Number.NaN);
  expect(leases.every(Number.isFinite)).toBe(true);
  return Math.max(...leases);
}

/**
 * Starts a refill as `ctl-a` and aborts it a few seconds after its launches are recorded, before any is
 * warm: what a controller that dies mid-refill leaves behind. Returns the launched ids.
 */
async function interruptedRefill(fx: PoolFixture, abortAfterMs = 3_000): Promise<string[]> {
  const ac = new AbortController();
  const result = await fx.clock.run(async () => {
    let recorded!: () => void;
    const launchesRecorded = new Promise<void>((resolve) => {
      recorded = resolve;
    });
    const work = refill(fx.ctx, undefined, { signal: ac.signal, onLaunched: () => recorded() });
    await launchesRecorded;
    await fx.clock.sleep(abortAfterMs);
    ac.abort(new Error('controller died'));
    return work;
  });
  expect(result.launched.length).toBeGreaterThan(0);
  expect(result.warm).toEqual([]);
  expect(result.failed).toEqual([]);
  expect([...result.interrupted].sort()).toEqual([...result.launched].sort());
  const recs = await records(fx);
  expect(recs.map((r) => [r.state, r.lease?.owner])).toEqual(
    Array(result.launched.length).fill(['booting', 'ctl-a']),
  );
  return result.launched;
}

const nothing: ReconcileResult = { adopted: [], forgotten: [], resumed: [], replaced: [], rotated: [] };

describe('reconcile after a crash', () => {
  it('finishes a refill interrupted midway, with no instance lost', async () => {
    const fx = poolFixture({ hosts: 3, warmPerHost: 2 });
    const launched = await interruptedRefill(fx);
    expect(launched).toHaveLength(6);
    const expiry = lastLeaseExpiry(await records(fx));
    // The lease covers the boot timeout plus the pool's grace.
    expect(expiry).toBeGreaterThanOrEqual(fx.spec.refill.bootTimeoutMs + fx.spec.hygiene.leaseMs);
    await fx.clock.advance(expiry - fx.clock.now() + 1);

    const r = await fx.clock.run(() => reconcile(fx.as('ctl-b')));

    expect([...r.resumed].sort()).toEqual([...launched].sort());
    expect(r).toMatchObject({ adopted: [], forgotten: [], replaced: [], rotated: [] });
    const recs = await records(fx);
    expect(recs.map((rec) => rec.state)).toEqual(Array(6).fill('warm'));
    expect(recs.map((rec) => rec.id).sort()).toEqual([...launched].sort());
    const cloud = await cloudInstances(fx);
    expect(cloud.map((c) => c.id).sort()).toEqual([...launched].sort());
    expect(await disagreements(fx)).toEqual([]);
    expect(fx.events.of('resumed').map((e) => [e.data.from, e.data.outcome])).toEqual(
      Array(6).fill(['booting', 'warm']),
    );
    // Nothing left to do.
    expect(await fx.clock.run(() => reconcile(fx.as('ctl-c')))).toEqual(nothing);
  });

  it('leaves a step alone while another controller holds a live lease on it', async () => {
    const fx = poolFixture({ hosts: 2, warmPerHost: 1 });
    const launched = await interruptedRefill(fx);
    await fx.clock.advance(120_000); // booted by now, but the lease still runs

    const r = await fx.clock.run(() => reconcile(fx.as('ctl-b')));
    expect(r).toEqual(nothing);
    const recs = await records(fx);
    expect(recs.map((rec) => [rec.state, rec.lease?.owner])).toEqual(Array(2).fill(['booting', 'ctl-a']));
    expect((await cloudInstances(fx)).map((c) => c.status)).toEqual(['running', 'running']);

    await fx.clock.advance(lastLeaseExpiry(recs) - fx.clock.now() + 1);
    const later = await fx.clock.run(() => reconcile(fx.as('ctl-b')));
    expect([...later.resumed].sort()).toEqual([...launched].sort());
    expect(await disagreements(fx)).toEqual([]);
  });

  it('two reconcilers at once do each piece of work once', async () => {
    const fx = poolFixture({ hosts: 3, warmPerHost: 2 });
    const launched = await interruptedRefill(fx);
    await fx.clock.advance(lastLeaseExpiry(await records(fx)) - fx.clock.now() + 1);
    // Also an orphan to adopt and a record to forget.
    const orphan = await fx.clock.run(() =>
      fx.provider.create({
        pool: POOL,
        host: H1,
        params: {},
        generation: 1,
        tags: { [TAGS.purpose]: 'warm' },
      }),
    );
    const gone = launched[0]!;
    await fx.clock.run(async () => {
      await fx.provider.delete(gone);
      await fx.provider.waitFor([gone], 'deleted', { timeoutMs: 60_000 });
    });

    const [b, c] = await fx.clock.run(() =>
      Promise.all([reconcile(fx.as('ctl-b')), reconcile(fx.as('ctl-c'))]),
    );

    const resumed = [...b.resumed, ...c.resumed];
    expect(resumed.sort()).toEqual(launched.slice(1).sort());
    expect([...b.adopted, ...c.adopted]).toEqual([orphan.id]);
    expect([...b.forgotten, ...c.forgotten]).toEqual([gone]);
    expect([...b.replaced, ...c.replaced, ...b.rotated, ...c.rotated]).toEqual([]);
    expect(fx.events.of('resumed')).toHaveLength(5);
    expect(fx.events.of('adopted')).toHaveLength(1);
    expect(fx.events.of('forgotten')).toHaveLength(1);
    expect(await counts(fx)).toMatchObject({ warm: 6, booting: 0, active: 0 });
    expect(await disagreements(fx)).toEqual([]);
  });
});

describe('reconcile: store and cloud disagree', () => {
  it('adopts a running instance the store lacks as active, and a paused one as warm', async () => {
    const fx = poolFixture({ hosts: 2, warmPerHost: 1 });
    const [running, paused] = await fx.clock.run(async () => {
      const req = { pool: POOL, host: H1, params: {}, generation: 1, tags: { [TAGS.purpose]: 'warm' } };
      const a = await fx.provider.create(req);
      const b = await fx.provider.create(req);
      await fx.provider.waitFor([a.id, b.id], 'running', { timeoutMs: 600_000 });
      await fx.provider.sleep(b.id, 'paused');
      await fx.provider.waitFor([b.id], 'paused', { timeoutMs: 60_000 });
      return [a.id, b.id];
    });
    // Another pool's instance is none of this pool's business.
    await fx.clock.run(() => fx.provider.create({ pool: 'other', host: H1, params: {}, generation: 1 }));

    const r = await fx.clock.run(() => reconcile(fx.ctx));

    expect([...r.adopted].sort()).toEqual([running!, paused!].sort());
    expect(await fx.store.get(POOL, running!)).toMatchObject({
      state: 'active',
      purpose: 'active',
      host: H1,
    });
    expect(await fx.store.get(POOL, paused!)).toMatchObject({
      state: 'warm',
      purpose: 'warm',
      warmState: 'paused',
    });
    expect(fx.events.of('adopted').map((e) => [e.data.id, e.data.purpose])).toEqual(
      expect.arrayContaining([
        [running, 'active'],
        [paused, 'warm'],
      ]),
    );
    expect(await disagreements(fx)).toEqual([]);
  });

  it('forgets a record whose instance was deleted behind its back', async () => {
    const fx = poolFixture({ hosts: 2, warmPerHost: 1 });
    await fill(fx);
    const [victim, survivor] = (await records(fx)).map((r) => r.id);
    await fx.clock.run(async () => {
      await fx.provider.delete(victim!);
      await fx.provider.waitFor([victim!], 'deleted', { timeoutMs: 60_000 });
    });

    const r = await fx.clock.run(() => reconcile(fx.ctx));

    expect(r).toEqual({ ...nothing, forgotten: [victim] });
    expect(await fx.store.get(POOL, victim!)).toBeUndefined();
    expect(await fx.store.get(POOL, survivor!)).toMatchObject({ state: 'warm' });
    expect(fx.events.of('forgotten').map((e) => e.data.id)).toEqual([victim]);
    expect(await disagreements(fx)).toEqual([]);
  });

  it('replaces an instance that went to error: deleted in the cloud, forgotten by the store', async () => {
    const fx = poolFixture({ hosts: 2, warmPerHost: 1 });
    fx.provider.failNextBoot(1);
    const launched = await interruptedRefill(fx);
    await fx.clock.advance(lastLeaseExpiry(await records(fx)) - fx.clock.now() + 1);
    const broken = (await cloudInstances(fx)).filter((c) => c.status === 'error').map((c) => c.id);
    expect(broken).toHaveLength(1);

    const r = await fx.clock.run(() => reconcile(fx.as('ctl-b')));

    expect(r.replaced).toEqual(broken);
    expect(r.resumed).toEqual(launched.filter((id) => id !== broken[0]));
    expect(await fx.store.get(POOL, broken[0]!)).toBeUndefined();
    expect(fx.events.of('failed').map((e) => e.data.id)).toEqual(broken);
    await fx.clock.advance(10_000);
    expect((await cloudInstances(fx)).map((c) => c.id)).toEqual(r.resumed);
    expect(await disagreements(fx)).toEqual([]);
    // The next refill replaces it.
    expect((await fill(fx)).launched).toHaveLength(1);
    expect(await counts(fx)).toMatchObject({ warm: 2 });
  });

  it('deletes an errored instance the store never knew', async () => {
    const fx = poolFixture({ hosts: 1, warmPerHost: 1 });
    fx.provider.failNextBoot(1);
    const inst = await fx.clock.run(async () => {
      const i = await fx.provider.create({ pool: POOL, host: H1, params: {}, generation: 1 });
      await fx.provider.waitFor([i.id], 'running', { timeoutMs: 600_000 });
      return i;
    });
    const r = await fx.clock.run(() => reconcile(fx.ctx));
    expect(r).toEqual({ ...nothing, replaced: [inst.id] });
    await fx.clock.advance(10_000);
    expect(await cloudInstances(fx)).toEqual([]);
    expect(await records(fx)).toEqual([]);
  });
});

describe('reconcile: rotation', () => {
  it('rotates warm instances of an older template generation, and only warm ones', async () => {
    const fx = poolFixture({ hosts: 2, warmPerHost: 2 });
    await fill(fx);
    await fx.clock.run(() => promote(fx.ctx, 1));
    const warmGen1 = (await records(fx)).filter((r) => r.state === 'warm').map((r) => r.id);
    expect(warmGen1).toHaveLength(3);
    const gen2: PoolSpec = { ...fx.spec, template: { ...fx.spec.template, generation: 2 } };

    const r = await fx.clock.run(() => reconcile(fx.as('ctl-a', gen2)));

    expect([...r.rotated].sort()).toEqual([...warmGen1].sort());
    expect(fx.events.of('rotated')).toHaveLength(3);
    // The instance in service keeps serving; a refill under the new template builds generation 2.
    expect(await counts(fx)).toMatchObject({ active: 1, warm: 0 });
    const refilled = await fill(fx, undefined, fx.as('ctl-a', gen2));
    expect(refilled.launched).toHaveLength(4);
    const warm = (await records(fx)).filter((rec) => rec.state === 'warm');
    expect(warm.map((rec) => rec.generation)).toEqual([2, 2, 2, 2]);
    expect((await cloudInstances(fx)).filter((c) => c.generation === 2)).toHaveLength(4);
  });

  it('rotates warm instances older than the maximum warm age, and keeps younger ones', async () => {
    const fx = poolFixture({ hosts: 2, warmPerHost: 2, maxWarmAgeSeconds: 600 });
    await fill(fx);
    await fx.clock.advance(400_000);
    await fx.clock.run(() => promote(fx.ctx, 2));
    const old = (await records(fx)).filter((r) => r.state === 'warm').map((r) => r.id);
    expect(old).toHaveLength(2);
    await fill(fx); // two young ones
    const young = (await records(fx))
      .filter((r) => r.state === 'warm' && !old.includes(r.id))
      .map((r) => r.id);
    expect(young).toHaveLength(2);

    const born = new Map((await records(fx)).map((rec) => [rec.id, rec.createdAt]));
    const oldBorn = old.map((id) => born.get(id)!);
    // A second before the first old one turns 600 s: nothing is due yet.
    await fx.clock.advance(Math.min(...oldBorn) + 600_000 - 1_000 - fx.clock.now());
    expect(await fx.clock.run(() => reconcile(fx.ctx))).toEqual(nothing);

    await fx.clock.advance(Math.max(...oldBorn) + 600_001 - fx.clock.now());
    expect(fx.clock.now() - Math.min(...young.map((id) => born.get(id)!))).toBeLessThan(200_000);
    const r = await fx.clock.run(() => reconcile(fx.ctx));
    expect([...r.rotated].sort()).toEqual([...old].sort());
    expect(
      (await records(fx))
        .filter((rec) => rec.state === 'warm')
        .map((rec) => rec.id)
        .sort(),
    ).toEqual([...young].sort());
    expect(fx.events.of('rotated').map((e) => String(e.data.reason))).toEqual(
      Array(2).fill('older than 600000 ms'),
    );
  });
});

describe('reconcile: an interrupted promotion', () => {
  it('puts an instance whose wake was sent into service once the promoter is gone', async () => {
    const fx = poolFixture({ hosts: 2, warmPerHost: 1 });
    await fill(fx);
    const ac = new AbortController();
    await fx.clock.run(async () => {
      const work = promote(fx.ctx, 2, { signal: ac.signal });
      await fx.clock.sleep(100); // the wakes are on their way
      ac.abort(new Error('controller died'));
      await expect(work).rejects.toThrow('controller died');
    });
    const stuck = await records(fx);
    expect(stuck.map((r) => [r.state, r.lease?.owner])).toEqual(Array(2).fill(['promoting', 'ctl-a']));

    await fx.clock.advance(lastLeaseExpiry(stuck) - fx.clock.now() + 1);
    const r = await fx.clock.run(() => reconcile(fx.as('ctl-b')));
    expect([...r.resumed].sort()).toEqual(stuck.map((rec) => rec.id).sort());
    expect(await counts(fx)).toMatchObject({ active: 2, promoting: 0, serving: 2 });
    expect(await disagreements(fx)).toEqual([]);
  });
});
