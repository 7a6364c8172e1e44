/**
 * The Controller's decision loop on one pool: the minActive floor, target tracking from metric samples,
 * the scale-in stabilisation window with reuse, the forecast raising warm targets, input it must refuse
 * or ignore, status, and stop.
 */
import { describe, expect, it, vi } from 'vitest';
import { Controller, type ControllerOptions } from '../../lib/controller/index.js';
import { UnknownPoolError } from '../../lib/domain/index.js';
import { silentLogger } from '../../lib/log/index.js';
import { promote, reconcile } from '../../lib/pool/index.js';
import { intervalStart } from '../../lib/signals/index.js';
import {
  counts,
  disagreements,
  POOL,
  type PoolFixture,
  type PoolFixtureOptions,
  poolFixture,
  records,
} from '../support/pool-fixture.js';

const METRIC = 'requests_per_s';

function setup(options: PoolFixtureOptions = {}): { fx: PoolFixture; ctl: Controller } {
  const fx = poolFixture({
    hosts: 3,
    warmPerHost: 2,
    maxPerHost: 4,
    minActive: 2,
    maxActive: 20,
    ...options,
  });
  return { fx, ctl: controllerOn(fx, 'ctl') };
}

/** A controller of the fixture's pool, on its cloud, store and clock; its own warm policy if given. */
function controllerOn(
  fx: PoolFixture,
  owner: string,
  warmPolicy?: ControllerOptions['warmPolicy'],
): Controller {
  return new Controller({
    pools: [fx.spec],
    providers: new Map([['sim', fx.provider]]),
    store: fx.store,
    clock: fx.clock,
    events: fx.events,
    log: silentLogger(),
    owner,
    ...(warmPolicy ? { warmPolicy } : {}),
  });
}

/** One decision round, and every promotion, demotion and refill it started run to their end. */
async function tickAndSettle(fx: PoolFixture, ctl: Controller): Promise<void> {
  await fx.clock.run(async () => {
    await ctl.tick();
    await ctl.idle();
  });
}

async function poolStatus(ctl: Controller) {
  const [s] = await ctl.status();
  if (!s) throw new Error('no pool in status');
  return s;
}

/**
 * Feeds samples into the interval that has just closed, so the next tick decides on them (a sample in the
 * open interval waits for it to close, unless it is a burst: see the breach tests).
 */
async function observe(fx: PoolFixture, ctl: Controller, ...values: number[]): Promise<void> {
  const ts = intervalStart(fx.clock.now(), fx.spec.capacity.intervalMs) - 1;
  await fx.clock.run(() => ctl.ingest(values.map((value) => ({ pool: POOL, metric: METRIC, value, ts }))));
}

describe('Controller', () => {
  it('with no metric holds minActive in service and fills the warm targets', async () => {
    const { fx, ctl } = setup();
    await tickAndSettle(fx, ctl);

    const s = await poolStatus(ctl);
    expect(s).toMatchObject({ desired: 2, active: 2, serving: 2, warm: 6, booting: 0, warmTarget: 6 });
    expect(s.metric).toEqual({ name: METRIC, value: null });
    expect(s.hosts.map((h) => h.warm)).toEqual([2, 2, 2]);
    // Nothing was warm yet: the floor was served by cold launches.
    expect(fx.events.of('promoted').map((e) => [e.data.warmHits, e.data.coldMisses])).toEqual([[0, 2]]);

    // A quiet round changes nothing.
    const launched = fx.events.of('launched').length;
    await tickAndSettle(fx, ctl);
    expect(fx.events.of('launched')).toHaveLength(launched);
    expect(await poolStatus(ctl)).toMatchObject({ desired: 2, active: 2, warm: 6 });
    expect(await disagreements(fx)).toEqual([]);
  });

  it('raises desired to ceil(value / perInstance) and promotes from the warm pool', async () => {
    const { fx, ctl } = setup();
    await tickAndSettle(fx, ctl);
    await observe(fx, ctl, 700, 750, 800); // avg 750 → 8

    await tickAndSettle(fx, ctl);

    const promoted = fx.events.of('promoted');
    expect(promoted).toHaveLength(2);
    expect(promoted[1]!.data).toMatchObject({ requested: 6, warmHits: 6, coldMisses: 0, reason: 'metric' });
    const s = await poolStatus(ctl);
    expect(s).toMatchObject({ desired: 8, active: 8, serving: 8, warm: 6, booting: 0 });
    expect(s.metric.value).toBe(750);
    expect(s.hosts.map((h) => h.warm)).toEqual([2, 2, 2]); // refilled behind the promotion
    expect(await disagreements(fx)).toEqual([]);
  });

  it('scales in only after the stabilisation window, putting instances back to warm', async () => {
    // Four slots per host: with 8 in service the refill cannot reach every target, so reuse shows.
    const { fx, ctl } = setup({ capacityPerHost: 4, stabilisationSeconds: 300 });
    await tickAndSettle(fx, ctl);
    const tHigh = fx.clock.now();
    await observe(fx, ctl, 800);
    await tickAndSettle(fx, ctl);
    const high = await poolStatus(ctl);
    expect(high).toMatchObject({ desired: 8, active: 8, warm: 4 });
    const launchedAtHigh = fx.events.of('launched').length;

    // Load drops; every round inside the window keeps the 8.
    for (const at of [tHigh + 60_000, tHigh + 180_000, tHigh + 300_000 - 1]) {
      await fx.clock.advance(at - fx.clock.now());
      await observe(fx, ctl, 100);
      await tickAndSettle(fx, ctl);
      expect(await poolStatus(ctl)).toMatchObject({ desired: 8, active: 8, warm: 4 });
    }
    expect(fx.events.of('demoted')).toEqual([]);

    await fx.clock.advance(tHigh + 300_000 - fx.clock.now());
    await observe(fx, ctl, 100);
    await tickAndSettle(fx, ctl);

    // Reuse fills each host back up to its warm target, with no launch; the rest are deleted.
    expect(fx.events.of('demoted').map((e) => e.data)).toEqual([{ requested: 6, returned: 2, deleted: 4 }]);
    const low = await poolStatus(ctl);
    expect(low).toMatchObject({ desired: 2, active: 2, serving: 2 });
    expect(low.hosts.map((h) => h.warm)).toEqual([2, 2, 2]);
    expect(fx.events.of('launched')).toHaveLength(launchedAtHigh);

    // Nothing is above target, so the next round trims nothing: no instance slept only to be deleted.
    const deletedBefore = fx.events.of('deleted').length;
    await observe(fx, ctl, 100);
    await tickAndSettle(fx, ctl);
    expect((await poolStatus(ctl)).hosts.map((h) => h.warm)).toEqual([2, 2, 2]);
    expect(fx.events.of('deleted')).toHaveLength(deletedBefore);
    await fx.clock.advance(10_000);
    expect(await disagreements(fx)).toEqual([]);
  });

  it('raises warm targets ahead of a rising load and spreads them over the hosts', async () => {
    const { fx, ctl } = setup({ forecast: 'holt', maxPerHost: 10 });
    // desired 2, 3, 4, 5 at 10 s intervals. Holt (alpha 0.5, beta 0.3) ends at level 4.33875 and trend
    // 0.0550125/s: 300 s ahead that is 20.84, 15.84 above desired. The pool holds the upper bound, so at
    // least 16 extra warm over the base 6, within the hosts' maximum of 3 × 10.
    for (const [i, value] of [200, 300, 400, 500].entries()) {
      await fx.clock.advance(i * 10_000 - fx.clock.now());
      await observe(fx, ctl, value);
      await fx.clock.run(() => ctl.tick());
    }
    await fx.clock.run(() => ctl.idle());

    const s = await poolStatus(ctl);
    expect(s).toMatchObject({ desired: 5, active: 5 });
    expect(s.warm).toBe(s.warmTarget);
    expect(s.warmTarget).toBeGreaterThanOrEqual(6 + 16);
    expect(s.warmTarget).toBeLessThanOrEqual(30);
    // Spread over the hosts by what each already carries of the pool (active and warm alike).
    const load = s.hosts.map((h) => h.warm + h.active);
    expect(Math.max(...load) - Math.min(...load)).toBeLessThanOrEqual(2);
  });

  it('holds only the configured warm targets without a forecast, whatever the load does', async () => {
    const { fx, ctl } = setup({ forecast: 'none', maxPerHost: 10 });
    for (const [i, value] of [200, 300, 400, 500].entries()) {
      await fx.clock.advance(i * 10_000 - fx.clock.now());
      await observe(fx, ctl, value);
      await fx.clock.run(() => ctl.tick());
    }
    await fx.clock.run(() => ctl.idle());
    expect(await poolStatus(ctl)).toMatchObject({ desired: 5, active: 5, warmTarget: 6, warm: 6 });
  });

  it('acts on a burst in the open interval at once, without waiting for a tick or the interval to close', async () => {
    const { fx, ctl } = setup();
    await tickAndSettle(fx, ctl);
    const promotions = fx.events.of('promoted').length;
    // Mid-interval: a sample asking for 6 instances where 2 serve.
    await fx.clock.advance(3_000);
    await fx.clock.run(async () => {
      await ctl.ingest([{ pool: POOL, metric: METRIC, value: 550, ts: fx.clock.now() }]);
      await ctl.idle();
    });
    expect(
      fx.events
        .of('promoted')
        .slice(promotions)
        .map((e) => e.data.requested),
    ).toEqual([4]);
    expect(await poolStatus(ctl)).toMatchObject({ desired: 6, active: 6 });
  });

  it('does not scale in on an open interval: a low sample waits for its interval to close', async () => {
    const { fx, ctl } = setup({ stabilisationSeconds: 0 });
    await tickAndSettle(fx, ctl);
    await observe(fx, ctl, 600);
    await tickAndSettle(fx, ctl);
    expect(await poolStatus(ctl)).toMatchObject({ desired: 6 });
    // Into the open interval: no breach (it asks for less), and the tick still decides on the closed one.
    await fx.clock.run(() => ctl.ingest([{ pool: POOL, metric: METRIC, value: 100, ts: fx.clock.now() }]));
    await tickAndSettle(fx, ctl);
    expect(await poolStatus(ctl)).toMatchObject({ desired: 6 });
    // Once it has closed, the next tick scales in.
    await fx.clock.advance(fx.spec.capacity.intervalMs);
    await tickAndSettle(fx, ctl);
    expect(await poolStatus(ctl)).toMatchObject({ desired: 2 });
  });

  it('refuses a sample for an unknown pool and changes nothing', async () => {
    const { fx, ctl } = setup();
    await tickAndSettle(fx, ctl);
    const before = await ctl.status();
    const state = await fx.store.getPoolState(POOL);

    await expect(
      ctl.ingest([
        { pool: POOL, metric: METRIC, value: 5_000, ts: fx.clock.now() },
        { pool: 'nope', metric: METRIC, value: 5_000, ts: fx.clock.now() },
      ]),
    ).rejects.toThrow(UnknownPoolError);
    expect(await ctl.status()).toEqual(before);
    expect(await fx.store.getPoolState(POOL)).toEqual(state);
    await tickAndSettle(fx, ctl);
    expect(await poolStatus(ctl)).toMatchObject({ desired: 2, active: 2, metric: { value: null } });
  });

  it('ignores samples of another metric', async () => {
    const { fx, ctl } = setup();
    expect(await ctl.ingest([{ pool: POOL, metric: 'cpu_percent', value: 1_000_000, ts: 0 }])).toEqual({
      accepted: 0,
      ignored: 1,
    });
    await tickAndSettle(fx, ctl);
    expect(await poolStatus(ctl)).toMatchObject({
      desired: 2,
      active: 2,
      metric: { name: METRIC, value: null },
    });
  });

  it('reports desired, active, warm and booting per host while a refill is under way', async () => {
    const { fx, ctl } = setup();
    await fx.clock.run(() => ctl.tick());
    await fx.clock.advance(5_000); // launches recorded, still booting

    const during = await poolStatus(ctl);
    expect(during).toMatchObject({ name: POOL, desired: 2, active: 0, warm: 0, booting: 6, coldBooting: 2 });
    expect(during.serving).toBe(2);
    expect(during.hosts.map((h) => [h.name, h.booting, h.warm])).toEqual([
      ['sim-host-01', 2, 0],
      ['sim-host-02', 2, 0],
      ['sim-host-03', 2, 0],
    ]);

    await fx.clock.run(() => ctl.idle());
    const after = await poolStatus(ctl);
    expect(after).toMatchObject({ desired: 2, active: 2, warm: 6, booting: 0, coldBooting: 0 });
    expect(after.hosts.map((h) => [h.active, h.warm, h.booting])).toEqual([
      [1, 2, 0],
      [1, 2, 0],
      [0, 2, 0],
    ]);
  });

  it('starts no refill while the pool is at its targets, and one as soon as a decision finds a deficit', async () => {
    const { fx, ctl } = setup();
    await tickAndSettle(fx, ctl);
    const locks = vi.spyOn(fx.store, 'tryLock');
    await tickAndSettle(fx, ctl);
    expect(locks.mock.calls.filter(([, name]) => name === 'refill')).toEqual([]);

    // A warm instance lost behind the controller's back (deleted by hand): the next decision sees the
    // deficit and refills it.
    const lost = (await records(fx)).find((r) => r.state === 'warm')!;
    await fx.store.remove(POOL, lost.id);
    await tickAndSettle(fx, ctl);
    expect(locks.mock.calls.filter(([, name]) => name === 'refill')).toHaveLength(1);
    expect(await poolStatus(ctl)).toMatchObject({ warm: 6, booting: 0 });
  });

  it('decides every pool of a round even when one fails, then throws that failure', async () => {
    const fx = poolFixture({ hosts: 2, warmPerHost: 0 });
    const pools = ['a', 'b', 'c'].map((name) => ({ ...fx.spec, name }));
    const ctl = new Controller({
      pools,
      providers: new Map([['sim', fx.provider]]),
      store: fx.store,
      clock: fx.clock,
      events: fx.events,
      log: silentLogger(),
      warmPolicy: (spec) => ({
        name: 'test',
        decide: () => {
          if (spec.name === 'a') throw new Error('pool a: policy broke');
          return { extra: 0, state: undefined };
        },
      }),
    });
    await expect(fx.clock.run(() => ctl.tick())).rejects.toThrow('pool a: policy broke');
    expect(await fx.store.getPoolState('a')).toBeUndefined();
    expect(await fx.store.getPoolState('b')).toBeDefined();
    expect(await fx.store.getPoolState('c')).toBeDefined();
  });

  it('stop() aborts background work at once; the leases let another controller finish it', async () => {
    const { fx, ctl } = setup();
    await fx.clock.run(() => ctl.tick());
    await fx.clock.advance(5_000);
    const t = fx.clock.now();

    await fx.clock.run(() => ctl.stop());

    expect(fx.clock.now() - t).toBeLessThan(1_000); // did not wait for the boots
    const left = await records(fx);
    expect(left).toHaveLength(8);
    expect(left.every((r) => r.state === 'booting' && r.lease?.owner === 'ctl')).toBe(true);

    const expiry = Math.max(...left.map((r) => r.lease!.expiresAt));
    await fx.clock.advance(expiry - fx.clock.now() + 1);
    const r = await fx.clock.run(() => reconcile(fx.as('ctl-2')));
    expect(r.resumed).toHaveLength(8);
    expect(await counts(fx)).toMatchObject({ active: 2, warm: 6, booting: 0 });
    expect(await disagreements(fx)).toEqual([]);
  });
});

describe('Controller.refillPool', () => {
  it("refills toward the last decision's extras, as another controller (a scheduled Lambda) would", async () => {
    // The warm policy asks for 3 beyond the configured 2 per host on 3 hosts.
    const fx = poolFixture({ hosts: 3, warmPerHost: 2, maxPerHost: 4, minActive: 0, maxActive: 20 });
    const make = (owner: string) =>
      controllerOn(fx, owner, () => ({ name: 'three', decide: () => ({ extra: 3, state: undefined }) }));
    const decider = make('ctl-a');
    await tickAndSettle(fx, decider);
    expect((await counts(fx)).warm).toBe(9);

    // A fresh controller, as a new Lambda execution environment has: it knows the extras from the store only.
    const scheduled = make('ctl-b');
    const r = await fx.clock.run(() => scheduled.refillPool(POOL));
    expect(r.ran).toBe(true);
    expect(r.trimmed).toEqual([]);
    expect(r.launched).toEqual([]);
    expect((await counts(fx)).warm).toBe(9);

    // After a promotion took 4, it launches them again where the extras are wanted.
    await fx.clock.run(() => promote(fx.ctx, 4));
    const again = await fx.clock.run(() => scheduled.refillPool(POOL));
    expect(again.launched).toHaveLength(4);
    expect((await counts(fx)).warm).toBe(9);
  });
});
