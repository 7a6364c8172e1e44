/**
 * Scale-in (demote, with and without reuse) and Refill(pool): per-host and pool bounds, host capacity,
 * trimming, the pure plan, booting launches counted as pending, and the refill lock.
 */
import { describe, expect, it } from 'vitest';
import type { InstanceRecord, InstanceState, LaunchPurpose, PoolSpec } from '../../lib/domain/index.js';
import { countPool, demote, planRefill, promote, refill } from '../../lib/pool/index.js';
import {
  cloudInstances,
  counts,
  disagreements,
  fill,
  POOL,
  type PoolFixture,
  poolFixture,
  records,
  tally,
  warmByHost,
} from '../support/pool-fixture.js';

const [H1, H2, H3] = ['sim-host-01', 'sim-host-02', 'sim-host-03'] as [string, string, string];

/**
 * Two hosts, target 1 and max 2 warm each. After it: 6 active (3 per host: the 2 first warm ones and 4 cold
 * launches, 2 per host) and 1 warm per host again.
 */
async function sixActiveOneWarmEach(reuse: boolean): Promise<{ fx: PoolFixture; cold: string[] }> {
  const fx = poolFixture({ hosts: 2, warmPerHost: 1, maxPerHost: 2, reuse });
  await fill(fx);
  const p = await fx.clock.run(() => promote(fx.ctx, 6));
  expect(p.promoted).toHaveLength(2);
  expect(p.launched).toHaveLength(4);
  await fill(fx);
  const c = await counts(fx);
  expect(c.hosts.map((h) => [h.active, h.warm])).toEqual([
    [3, 1],
    [3, 1],
  ]);
  return { fx, cold: p.launched };
}

describe('demote', () => {
  it('with reuse puts instances back to warm on hosts below max and deletes the rest', async () => {
    const { fx, cold } = await sixActiveOneWarmEach(true);
    const r = await fx.clock.run(() => demote(fx.ctx, 4));

    // Newest first: the four cold launches, two per host; each host has room for one more warm instance.
    expect([...r.returned, ...r.deleted].sort()).toEqual([...cold].sort());
    expect(r.returned).toHaveLength(2);
    expect(r.deleted).toHaveLength(2);
    expect(r.failed).toEqual([]);
    const recs = await records(fx);
    const returned = recs.filter((rec) => r.returned.includes(rec.id));
    expect(tally(returned, (rec) => rec.host)).toEqual({ [H1]: 1, [H2]: 1 });
    expect(returned.map((rec) => [rec.state, rec.warmState])).toEqual(Array(2).fill(['warm', 'paused']));
    expect(recs.filter((rec) => r.deleted.includes(rec.id))).toEqual([]);
    expect(await warmByHost(fx)).toEqual({ [H1]: 2, [H2]: 2 });
    expect((await counts(fx)).active).toBe(2);
    expect(fx.events.of('demoted').map((e) => e.data)).toEqual([{ requested: 4, returned: 2, deleted: 2 }]);
    expect(fx.events.of('deleted').map((e) => e.data.reason)).toEqual(['scale-in', 'scale-in']);
    await fx.clock.advance(10_000);
    expect(await disagreements(fx)).toEqual([]);
    expect((await cloudInstances(fx)).length).toBe(6);
  });

  it('with reuse off deletes every instance it takes', async () => {
    const { fx, cold } = await sixActiveOneWarmEach(false);
    const r = await fx.clock.run(() => demote(fx.ctx, 4));
    expect(r.returned).toEqual([]);
    expect([...r.deleted].sort()).toEqual([...cold].sort());
    expect(await warmByHost(fx)).toEqual({ [H1]: 1, [H2]: 1 });
    expect((await counts(fx)).active).toBe(2);
    await fx.clock.advance(10_000);
    expect(await disagreements(fx)).toEqual([]);
    expect((await cloudInstances(fx)).length).toBe(4);
  });

  it('deletes an instance of an outdated template generation rather than reusing it', async () => {
    const fx = poolFixture({ hosts: 2, warmPerHost: 1, maxPerHost: 3 });
    await fill(fx);
    await fx.clock.run(() => promote(fx.ctx, 2));
    const gen2: PoolSpec = { ...fx.spec, template: { ...fx.spec.template, generation: 2 } };

    const outdated = await fx.clock.run(() => demote(fx.as('ctl-a', gen2), 1));
    expect(outdated.returned).toEqual([]);
    expect(outdated.deleted).toHaveLength(1);

    const current = poolFixture({ hosts: 2, warmPerHost: 1, maxPerHost: 3 });
    await fill(current);
    await current.clock.run(() => promote(current.ctx, 2));
    const same = await current.clock.run(() => demote(current.ctx, 1));
    expect(same.returned).toHaveLength(1);
    expect(same.deleted).toEqual([]);
  });

  it('takes instances first from the host furthest below its warm target', async () => {
    const fx = poolFixture({ hosts: 2, warmPerHost: 2, maxPerHost: 3 });
    await fill(fx);
    await fx.clock.run(() => promote(fx.ctx, 4));
    await fill(fx, new Map([[H2, 0]])); // h1 back to 2 warm, h2 left empty
    expect(await warmByHost(fx)).toEqual({ [H1]: 2, [H2]: 0 });

    const r = await fx.clock.run(() => demote(fx.ctx, 2));
    const recs = await records(fx);
    expect(
      tally(
        recs.filter((rec) => r.returned.includes(rec.id)),
        (rec) => rec.host,
      ),
    ).toEqual({ [H2]: 2 });
    expect(await warmByHost(fx)).toEqual({ [H1]: 2, [H2]: 2 });
  });

  it("keeps the pool's extras where instances come out of service, whichever host the targets named", async () => {
    // No configured warm pool; the controller's targets put 2 extras on host 01. One active on each host.
    const fx = poolFixture({ hosts: 2, warmPerHost: 0, maxPerHost: 3 });
    await fx.clock.run(() => promote(fx.ctx, 2));
    expect((await counts(fx)).hosts.map((h) => h.active)).toEqual([1, 1]);
    const r = await fx.clock.run(() =>
      demote(fx.ctx, 2, {
        targets: new Map([
          [H1, 2],
          [H2, 0],
        ]),
      }),
    );
    // Host 02's instance is as good an extra as one a refill would launch on host 01, and warm at once.
    expect(r.returned).toHaveLength(2);
    expect(r.deleted).toEqual([]);
    expect(await warmByHost(fx)).toEqual({ [H1]: 1, [H2]: 1 });
  });

  it('returns no more than the extras over the configured targets, and never moves a configured one', async () => {
    // Target 1 per host, both met; the controller asks for 1 extra on host 02; 3 actives on each host.
    const { fx } = await sixActiveOneWarmEach(true);
    const r = await fx.clock.run(() =>
      demote(fx.ctx, 4, {
        targets: new Map([
          [H1, 1],
          [H2, 2],
        ]),
      }),
    );
    expect(r.returned).toHaveLength(1);
    expect(r.deleted).toHaveLength(3);
    expect(Object.values(await warmByHost(fx)).reduce((a, b) => a + b, 0)).toBe(3);
  });

  it('two demotes at once never push a host past its warm maximum', async () => {
    const fx = poolFixture({ hosts: 1, warmPerHost: 0, maxPerHost: 2 });
    await fx.clock.run(() => promote(fx.ctx, 4)); // 4 cold launches, nothing warm
    const [a, b] = await fx.clock.run(() =>
      Promise.all([demote(fx.as('ctl-a'), 2), demote(fx.as('ctl-b'), 2)]),
    );
    expect(a.returned.length + b.returned.length).toBe(2);
    expect(a.deleted.length + b.deleted.length).toBe(2);
    expect(await warmByHost(fx)).toEqual({ [H1]: 2 });
  });

  it('a demote during a refill never pushes a host past its warm maximum', async () => {
    const fx = poolFixture({ hosts: 1, warmPerHost: 3, maxPerHost: 3 });
    await fx.clock.run(() => promote(fx.ctx, 4));
    const [r, d] = await fx.clock.run(() => Promise.all([refill(fx.as('ctl-a')), demote(fx.as('ctl-b'), 4)]));
    // Between them they fill the host exactly to its maximum: what the refill launched, the demote did not return.
    expect(r.launched.length + d.returned.length).toBe(3);
    expect(d.returned.length + d.deleted.length).toBe(4);
    expect((await counts(fx)).active).toBe(0);
    expect(await warmByHost(fx)).toEqual({ [H1]: 3 });
  });
});

describe('refill', () => {
  it('never passes a host maximum, whatever the target asks', async () => {
    const fx = poolFixture({ hosts: 2, warmPerHost: 1, maxPerHost: 3 });
    const r = await fill(fx, new Map([[H1, 9]]));
    expect(r.launched).toHaveLength(4);
    expect(await warmByHost(fx)).toEqual({ [H1]: 3, [H2]: 1 });
  });

  it('never passes the pool warm maximum (hosts in config order)', async () => {
    const fx = poolFixture({ hosts: 3, warmPerHost: 3, maxPerHost: 3, maxWarm: 5 });
    const r = await fill(fx);
    expect(r.launched).toHaveLength(5);
    expect(await warmByHost(fx)).toEqual({ [H1]: 3, [H2]: 2, [H3]: 0 });
    const again = await fill(fx);
    expect(again.launched).toEqual([]);
  });

  it('launches no more than a host has free slots for', async () => {
    const fx = poolFixture({ hosts: 2, warmPerHost: 4, maxPerHost: 5, capacityPerHost: 3 });
    await fx.clock.run(() => promote(fx.ctx, 1)); // one cold launch holds a slot on host 01
    const r = await fill(fx);
    expect(r.launched).toHaveLength(5);
    expect(r.failed).toEqual([]);
    expect(await warmByHost(fx)).toEqual({ [H1]: 2, [H2]: 3 });
    const hosts = await fx.clock.run(() => fx.provider.hosts());
    expect(hosts.map((h) => [h.name, h.used])).toEqual([
      [H1, 3],
      [H2, 3],
    ]);
  });

  it('trims a host above its target, oldest first', async () => {
    const fx = poolFixture({ hosts: 2, warmPerHost: 3, maxPerHost: 3 });
    await fill(fx);
    const oldestOnH1 = (await records(fx))
      .filter((rec) => rec.host === H1)
      .sort((a, b) => a.createdAt - b.createdAt)
      .slice(0, 2)
      .map((rec) => rec.id);

    const r = await fill(fx, new Map([[H1, 1]]));
    expect(r.launched).toEqual([]);
    expect([...r.trimmed].sort()).toEqual([...oldestOnH1].sort());
    expect(await warmByHost(fx)).toEqual({ [H1]: 1, [H2]: 3 });
    expect(fx.events.of('deleted').map((e) => e.data.reason)).toEqual(Array(2).fill('above warm target'));
    expect(fx.events.of('refilled').at(-1)!.data).toEqual({
      launched: 0,
      warm: 0,
      failed: 0,
      interrupted: 0,
      trimmed: 2,
    });
    await fx.clock.advance(10_000);
    expect(await disagreements(fx)).toEqual([]);
  });

  it('works the targets out from the records it decides on, when given a rule', async () => {
    const fx = poolFixture({ hosts: 2, warmPerHost: 0, maxPerHost: 3 });
    await fill(fx, new Map([[H1, 2]]));
    const seen: number[] = [];
    // The rule: three warm over the pool, wherever they are now, the rest on host 02.
    const r = await fx.clock.run(() =>
      refill(fx.ctx, (records) => {
        seen.push(records.length);
        const onH1 = records.filter((rec) => rec.host === H1 && rec.state === 'warm').length;
        return {
          launch: new Map([
            [H1, onH1],
            [H2, 3 - onH1],
          ]),
        };
      }),
    );
    expect(seen).toEqual([2]);
    expect(r.launched).toHaveLength(1);
    expect(r.trimmed).toEqual([]);
    expect(await warmByHost(fx)).toEqual({ [H1]: 2, [H2]: 1 });
  });

  it('keeps a surplus up to the keep targets: it launches for less than it trims down to', async () => {
    const fx = poolFixture({ hosts: 2, warmPerHost: 0, maxPerHost: 5 });
    await fill(fx, new Map([[H1, 4]]));
    const targets = (launch: number, keep: number) => () => ({
      launch: new Map([[H1, launch]]),
      keep: new Map([[H1, keep]]),
    });
    const kept = await fx.clock.run(() => refill(fx.ctx, targets(1, 4)));
    expect(kept.trimmed).toEqual([]);
    expect(await warmByHost(fx)).toEqual({ [H1]: 4, [H2]: 0 });
    const trimmed = await fx.clock.run(() => refill(fx.ctx, targets(1, 2)));
    expect(trimmed.trimmed).toHaveLength(2);
    expect(trimmed.launched).toEqual([]);
    expect(await warmByHost(fx)).toEqual({ [H1]: 2, [H2]: 0 });
  });

  it('counts launches still booting as pending: a second refill launches nothing more', async () => {
    const fx = poolFixture({ hosts: 3, warmPerHost: 2 });
    const out = await fx.clock.run(async () => {
      let recorded!: () => void;
      const launchesRecorded = new Promise<void>((resolve) => {
        recorded = resolve;
      });
      const first = refill(fx.ctx, undefined, { onLaunched: () => recorded() });
      await launchesRecorded;
      const during = countPool(fx.spec, await fx.store.list(POOL));
      const second = await refill(fx.as('ctl-b'));
      return { first: await first, second, during };
    });
    expect(out.during).toMatchObject({ booting: 6, warm: 0 });
    expect(out.second).toMatchObject({ ran: true, launched: [], trimmed: [] });
    expect(out.first.warm).toHaveLength(6);
    expect((await cloudInstances(fx)).length).toBe(6);
  });

  it('does nothing while another controller holds the refill lock', async () => {
    const fx = poolFixture({ hosts: 3, warmPerHost: 2 });
    const [a, b] = await fx.clock.run(() => Promise.all([refill(fx.ctx), refill(fx.as('ctl-b'))]));
    expect(a.ran).toBe(true);
    expect(a.launched).toHaveLength(6);
    expect(b).toEqual({ ran: false, launched: [], warm: [], failed: [], interrupted: [], trimmed: [] });

    const held = poolFixture({ hosts: 3, warmPerHost: 2 });
    expect(await held.store.tryLock(POOL, 'refill', 'ctl-x', 60_000)).toBe(true);
    const refused = await fill(held);
    expect(refused.ran).toBe(false);
    expect(await cloudInstances(held)).toEqual([]);
    await held.clock.advance(60_000); // the lock lapses
    expect((await fill(held)).launched).toHaveLength(6);
  });
});

describe('planRefill', () => {
  const fx = poolFixture({ hosts: 3, warmPerHost: 2, maxPerHost: 4, maxWarm: 8 });
  let n = 0;
  const rec = (
    host: string,
    state: InstanceState,
    createdAt: number,
    purpose: LaunchPurpose = 'warm',
  ): InstanceRecord => ({
    id: `i-${++n}`,
    pool: POOL,
    host,
    state,
    warmState: 'paused',
    purpose,
    generation: 1,
    createdAt,
    since: createdAt,
    version: 1,
  });

  it('launches what each host lacks within free slots and the pool maximum, and trims the excess', () => {
    const list = [
      rec(H1, 'warm', 10),
      rec(H1, 'booting', 20),
      rec(H1, 'returning', 30),
      rec(H2, 'active', 5),
      rec(H2, 'booting', 6, 'active'), // a cold launch: not on its way to the pool
      rec(H2, 'failed', 7),
      rec(H3, 'warm', 400),
      rec(H3, 'warm', 100),
      rec(H3, 'warm', 300),
      rec(H3, 'warm', 200),
    ];
    const before = structuredClone(list);
    const targets = new Map([[H2, 3]]);
    const free = new Map([
      [H1, 10],
      [H2, 2],
      [H3, 10],
    ]);

    const plan = planRefill(fx.ctx, list, targets, free);
    // Pending over the pool: 5 warm + 1 booting + 1 returning = 7 of maxWarm 8, so host 02 gets one.
    expect([...plan.launch]).toEqual([[H2, 1]]);
    expect(plan.trim.map((r) => r.createdAt)).toEqual([100, 200]);
    expect(list).toEqual(before);
    expect(planRefill(fx.ctx, list, targets, free)).toEqual(plan);
  });

  it('trims a host only down to what it keeps, and never below its launch target', () => {
    const list = [1, 2, 3, 4, 5].map((t) => rec(H1, 'warm', t));
    const launch = new Map([
      [H1, 1],
      [H2, 0],
      [H3, 0],
    ]);
    const plan = (keep: Map<string, number>) =>
      planRefill(fx.ctx, list, launch, new Map(), keep).trim.map((r) => r.createdAt);
    expect(plan(new Map([[H1, 3]]))).toEqual([1, 2]);
    expect(plan(new Map([[H1, 0]]))).toEqual([1, 2, 3, 4]); // keep below the target: the target
    expect(planRefill(fx.ctx, list, launch, new Map()).trim).toHaveLength(4); // no keep: the target
  });

  it('trims only a settled host: never the ready instances while launches still boot or instances return', () => {
    const list = [
      rec(H1, 'warm', 1),
      rec(H1, 'warm', 2),
      rec(H1, 'warm', 3),
      rec(H1, 'booting', 4), // the target dropped while this one boots
      rec(H2, 'warm', 1),
      rec(H2, 'warm', 2),
      rec(H2, 'warm', 3),
      rec(H2, 'returning', 4),
      rec(H3, 'warm', 1),
      rec(H3, 'warm', 2),
      rec(H3, 'warm', 3),
    ];
    const plan = planRefill(fx.ctx, list, new Map(), new Map());
    expect([...plan.launch]).toEqual([]);
    expect(plan.trim.map((r) => [r.host, r.createdAt])).toEqual([[H3, 1]]);
  });

  it('holds each target within the host min and max, and needs a free slot per launch', () => {
    const spec: PoolSpec = {
      ...fx.spec,
      hosts: fx.spec.hosts.map((h) => ({ ...h, min: 1 })),
      bounds: { ...fx.spec.bounds, maxWarm: 100 },
    };
    const plan = planRefill(
      { spec },
      [rec(H1, 'returning', 1), rec(H1, 'returning', 2)],
      new Map([
        [H1, 0],
        [H2, 0],
        [H3, 9],
      ]),
      new Map([
        [H1, 5],
        [H2, 5],
        [H3, 3],
      ]),
    );
    // h1: target 0 → min 1, two returning already; h2: target 0 → min 1; h3: 9 → max 4, but 3 free slots.
    expect([...plan.launch]).toEqual([
      [H2, 1],
      [H3, 3],
    ]);
    expect(plan.trim).toEqual([]);
    expect(planRefill({ spec }, [], new Map(), new Map())).toEqual({ launch: new Map(), trim: [] });
  });
});
