/**
 * The StateStore contract: what every adapter (memory, Redis, Redis Cluster) must do. It talks only to the
 * port and takes time only from the VirtualClock it is given, so the same suite runs over a real Redis: an
 * adapter under test must read its clock (leases, claim ttls, lock ttls) from that clock, never from the wall.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { VirtualClock } from '../../lib/clock/index.js';
import {
  IllegalTransitionError,
  IN_FLIGHT_STATES,
  INSTANCE_STATES,
  type InstanceRecord,
  type InstanceState,
  LeaseHeldError,
  StaleStateError,
  TRANSITIONS,
  UnknownInstanceError,
  WAKE_RANK,
  WARM_STATES,
  WarmpoolError,
  type WarmState,
} from '../../lib/domain/index.js';
import type { Claim, ClaimRequest, NewInstance, StateStore } from '../../lib/store/index.js';
import { mulberry32 } from '../../lib/util/index.js';

export interface StoreContext {
  store: StateStore;
  clock: VirtualClock;
  teardown?(): Promise<void>;
}

const POOL = 'web';
const OTHER_POOL = 'batch';
const LEASE_MS = 1_000;

function newInstance(id: string, over: Partial<NewInstance> = {}): NewInstance {
  return {
    id,
    pool: POOL,
    host: 'h1',
    warmState: 'paused',
    purpose: 'warm',
    generation: 1,
    owner: 'ctl-a',
    leaseMs: LEASE_MS,
    ...over,
  };
}

function claimRequest(claimId: string, count: number, over: Partial<ClaimRequest> = {}): ClaimRequest {
  return { claimId, count, owner: 'ctl-a', leaseMs: 5_000, maxServing: 100, ttlMs: 30_000, ...over };
}

/** The shortest path from `booting` to every state, built from TRANSITIONS so a new edge is covered. */
function pathsFromBooting(): Map<InstanceState, InstanceState[]> {
  const paths = new Map<InstanceState, InstanceState[]>([['booting', []]]);
  const queue: InstanceState[] = ['booting'];
  for (let s = queue.shift(); s !== undefined; s = queue.shift()) {
    for (const next of TRANSITIONS[s]) {
      if (paths.has(next)) continue;
      paths.set(next, [...(paths.get(s) ?? []), next]);
      queue.push(next);
    }
  }
  return paths;
}

const PATHS = pathsFromBooting();

function pathTo(state: InstanceState): InstanceState[] {
  const path = PATHS.get(state);
  if (!path) throw new Error(`state ${state} cannot be reached from booting`);
  return path;
}

const LEGAL = INSTANCE_STATES.flatMap((from) => TRANSITIONS[from].map((to) => ({ from, to })));
const ILLEGAL = INSTANCE_STATES.flatMap((from) =>
  INSTANCE_STATES.filter((to) => !TRANSITIONS[from].includes(to)).map((to) => ({ from, to })),
);
const RESTING = INSTANCE_STATES.filter((s) => !IN_FLIGHT_STATES.includes(s));

/** Awaits `p` and returns what it rejected with; fails the test when it resolves. */
async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected the call to be refused, but it succeeded');
}

function countBy<T>(items: readonly T[], key: (item: T) => string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const item of items) out[key(item)] = (out[key(item)] ?? 0) + 1;
  return out;
}

/**
 * Registers the contract suite for one adapter. `setup` runs before every test and returns an empty store
 * driven by `clock`; `teardown` (closing connections, flushing keys) runs after it.
 *
 * @example describeStoreContract('memory', async () => { const clock = new VirtualClock(); return { clock, store: new MemoryStore(clock) }; });
 */
export function describeStoreContract(name: string, setup: () => Promise<StoreContext>): void {
  describe(`StateStore contract: ${name}`, () => {
    let ctx: StoreContext;
    let store: StateStore;
    let clock: VirtualClock;

    beforeEach(async () => {
      ctx = await setup();
      store = ctx.store;
      clock = ctx.clock;
    });

    afterEach(async () => {
      await ctx.teardown?.();
    });

    /** Inserts `id` and walks it along `path` as `owner`. */
    async function drive(
      id: string,
      path: readonly InstanceState[],
      over: Partial<NewInstance> = {},
    ): Promise<InstanceRecord> {
      let rec = await store.insert(newInstance(id, over));
      const owner = over.owner ?? 'ctl-a';
      for (const to of path) {
        rec = (await store.transition(rec.pool, id, { from: rec.state, to, owner, leaseMs: LEASE_MS }))
          .record;
      }
      return rec;
    }

    /** Puts `count` warm instances on each host, ids `<prefix><host>-<i>`, oldest first per host. */
    async function seedWarm(
      hosts: Readonly<Record<string, number>>,
      opts: { pool?: string; warmState?: WarmState; prefix?: string } = {},
    ): Promise<string[]> {
      const ids: string[] = [];
      for (const [host, count] of Object.entries(hosts)) {
        for (let i = 0; i < count; i++) {
          const id = `${opts.prefix ?? ''}${host}-${i}`;
          await drive(id, ['warming', 'warm'], {
            host,
            pool: opts.pool ?? POOL,
            warmState: opts.warmState ?? 'paused',
            owner: 'refill',
          });
          ids.push(id);
          // Distinct ages, so oldest-first decides the order within a host without any tie-break.
          await clock.advance(1);
        }
      }
      return ids;
    }

    async function statesOf(pool = POOL): Promise<Record<string, InstanceState>> {
      const out: Record<string, InstanceState> = {};
      for (const rec of await store.list(pool)) out[rec.id] = rec.state;
      return out;
    }

    const ids = (claim: Claim) => claim.instances.map((r) => r.id);

    describe('insert, get, list, remove', () => {
      it('records a new instance in booting, version 1, leased to the launcher, with times from the clock', async () => {
        await clock.advance(1_234);
        const t = clock.now();
        const rec = await store.insert(
          newInstance('i-1', { host: 'h7', warmState: 'stopped', generation: 3, purpose: 'active' }),
        );
        const expected: InstanceRecord = {
          id: 'i-1',
          pool: POOL,
          host: 'h7',
          state: 'booting',
          warmState: 'stopped',
          purpose: 'active',
          generation: 3,
          createdAt: t,
          since: t,
          version: 1,
          lease: { owner: 'ctl-a', expiresAt: t + LEASE_MS },
        };
        expect(rec).toEqual(expected);
        expect(await store.get(POOL, 'i-1')).toEqual(expected);
        expect(await store.list(POOL)).toEqual([expected]);
      });

      it('inserting the same id again is a no-op that returns the stored record', async () => {
        const first = await store.insert(newInstance('i-1'));
        await clock.advance(10);
        await store.transition(POOL, 'i-1', { from: 'booting', to: 'warming', owner: 'ctl-a', leaseMs: 500 });
        const stored = await store.get(POOL, 'i-1');
        await clock.advance(10);
        const again = await store.insert(newInstance('i-1', { host: 'h9', owner: 'ctl-b', generation: 9 }));
        expect(again).toEqual(stored);
        expect(again.state).toBe('warming');
        expect(again.version).toBe(2);
        expect(again.host).toBe('h1');
        expect(again.createdAt).toBe(first.createdAt);
        expect(await store.list(POOL)).toHaveLength(1);
        expect(await store.get(POOL, 'i-1')).toEqual(stored);
      });

      it('hands out copies: mutating what get, list, insert and transition return changes nothing', async () => {
        const inserted = await store.insert(newInstance('i-1'));
        inserted.state = 'active';
        inserted.lease = undefined;
        const reinserted = await store.insert(newInstance('i-1'));
        reinserted.state = 'active';
        reinserted.version = 7;
        const got = await store.get(POOL, 'i-1');
        expect(got?.state).toBe('booting');
        if (!got) throw new Error('missing');
        got.state = 'failed';
        got.version = 99;
        if (got.lease) got.lease.owner = 'thief';
        const [listed] = await store.list(POOL);
        if (!listed) throw new Error('missing');
        listed.host = 'elsewhere';
        if (listed.lease) listed.lease.expiresAt = 0;
        const moved = await store.transition(POOL, 'i-1', { from: 'booting', to: 'warming', owner: 'ctl-a' });
        moved.record.state = 'deleting';
        const now = await store.get(POOL, 'i-1');
        expect(now).toMatchObject({ state: 'warming', version: 2, host: 'h1' });
        expect(now?.lease?.owner).toBe('ctl-a');
      });

      it('get and list of unknown pools and ids find nothing', async () => {
        expect(await store.get(POOL, 'nope')).toBeUndefined();
        expect(await store.list('no-such-pool')).toEqual([]);
      });

      it('keeps pools apart: same id in two pools, transitions, lists and claims stay in their pool', async () => {
        await store.insert(newInstance('i-1', { pool: POOL, host: 'a' }));
        await store.insert(newInstance('i-1', { pool: OTHER_POOL, host: 'b' }));
        await store.transition(POOL, 'i-1', { from: 'booting', to: 'warming', owner: 'ctl-a' });
        expect((await store.get(POOL, 'i-1'))?.state).toBe('warming');
        expect(await store.get(OTHER_POOL, 'i-1')).toMatchObject({ state: 'booting', host: 'b', version: 1 });
        expect((await store.list(OTHER_POOL)).map((r) => r.id)).toEqual(['i-1']);

        await seedWarm({ h1: 2 }, { pool: OTHER_POOL });
        const claim = await store.claimWarm(POOL, claimRequest('c1', 2));
        expect(claim.instances).toEqual([]);
        expect(claim.coldSlots).toBe(2);
        expect(await statesOf(OTHER_POOL)).toEqual({ 'i-1': 'booting', 'h1-0': 'warm', 'h1-1': 'warm' });
        expect(await store.remove(OTHER_POOL, 'i-1')).toBe(true);
        expect((await store.get(POOL, 'i-1'))?.state).toBe('warming');
      });

      it('remove returns true once, then false, and the record is gone', async () => {
        await store.insert(newInstance('i-1'));
        await store.insert(newInstance('i-2'));
        expect(await store.remove(POOL, 'i-1')).toBe(true);
        expect(await store.remove(POOL, 'i-1')).toBe(false);
        expect(await store.get(POOL, 'i-1')).toBeUndefined();
        expect((await store.list(POOL)).map((r) => r.id)).toEqual(['i-2']);
        expect(await store.remove(POOL, 'never')).toBe(false);
      });
    });

    describe('transitions', () => {
      it('every state is reachable from booting', () => {
        expect([...PATHS.keys()].sort()).toEqual([...INSTANCE_STATES].sort());
      });

      for (const { from, to } of LEGAL) {
        it(`allows ${from} → ${to}`, async () => {
          const before = await drive('i-1', pathTo(from));
          expect(before.state).toBe(from);
          await clock.advance(7);
          const t = clock.now();
          const res = await store.transition(POOL, 'i-1', { from, to, owner: 'ctl-a', leaseMs: 2_500 });
          expect(res.changed).toBe(true);
          const expected: InstanceRecord = {
            ...before,
            state: to,
            since: t,
            version: before.version + 1,
          };
          if (IN_FLIGHT_STATES.includes(to)) expected.lease = { owner: 'ctl-a', expiresAt: t + 2_500 };
          else delete expected.lease;
          expect(res.record).toEqual(expected);
          expect(await store.get(POOL, 'i-1')).toEqual(expected);
        });
      }

      for (const { from, to } of ILLEGAL) {
        it(`refuses ${from} → ${to} and changes nothing`, async () => {
          await drive('i-1', pathTo(from));
          const before = await store.get(POOL, 'i-1');
          const err = await rejection(
            store.transition(POOL, 'i-1', { from, to, owner: 'ctl-a', leaseMs: 2_500, force: true }),
          );
          expect(err).toBeInstanceOf(IllegalTransitionError);
          expect(err).toMatchObject({ code: 'illegal_transition', instanceId: 'i-1', from, to });
          expect(await store.get(POOL, 'i-1')).toEqual(before);
        });
      }

      it('accepts a list of source states and moves from whichever one holds', async () => {
        await drive('i-1', ['warming', 'warm', 'promoting', 'active', 'returning']);
        const res = await store.transition(POOL, 'i-1', {
          from: ['promoting', 'returning'],
          to: 'warm',
          owner: 'ctl-a',
        });
        expect(res.changed).toBe(true);
        expect(res.record.state).toBe('warm');
      });

      it('refuses a stale `from` with StaleStateError and changes nothing', async () => {
        await drive('i-1', ['warming']);
        const before = await store.get(POOL, 'i-1');
        const err = await rejection(
          store.transition(POOL, 'i-1', { from: 'warm', to: 'promoting', owner: 'ctl-a' }),
        );
        expect(err).toBeInstanceOf(StaleStateError);
        expect(err).toMatchObject({
          code: 'stale_state',
          instanceId: 'i-1',
          expected: ['warm'],
          actual: 'warming',
        });
        const errs = await rejection(
          store.transition(POOL, 'i-1', { from: ['promoting', 'active'], to: 'failed', owner: 'ctl-a' }),
        );
        expect(errs).toBeInstanceOf(StaleStateError);
        expect(errs).toMatchObject({ expected: ['promoting', 'active'], actual: 'warming' });
        expect(await store.get(POOL, 'i-1')).toEqual(before);
      });

      it('refuses an unknown id with UnknownInstanceError', async () => {
        await store.insert(newInstance('i-1'));
        const err = await rejection(
          store.transition(POOL, 'nope', { from: 'booting', to: 'warming', owner: 'ctl-a' }),
        );
        expect(err).toBeInstanceOf(UnknownInstanceError);
        expect(err).toMatchObject({ code: 'unknown_instance', pool: POOL, instanceId: 'nope' });
        const other = await rejection(
          store.transition(OTHER_POOL, 'i-1', { from: 'booting', to: 'warming', owner: 'ctl-a' }),
        );
        expect(other).toBeInstanceOf(UnknownInstanceError);
        expect(other).toMatchObject({ pool: OTHER_POOL, instanceId: 'i-1' });
      });

      it('a retried transition by the same owner, already in `to`, reports changed: false and bumps nothing', async () => {
        await drive('i-1', ['warming', 'warm']);
        const first = await store.transition(POOL, 'i-1', { from: 'warm', to: 'promoting', owner: 'ctl-a' });
        expect(first.changed).toBe(true);
        await clock.advance(5);
        const retry = await store.transition(POOL, 'i-1', { from: 'warm', to: 'promoting', owner: 'ctl-a' });
        expect(retry.changed).toBe(false);
        expect(retry.record).toEqual(first.record);
        expect(await store.get(POOL, 'i-1')).toEqual(first.record);

        const active = await store.transition(POOL, 'i-1', {
          from: 'promoting',
          to: 'active',
          owner: 'ctl-a',
        });
        const again = await store.transition(POOL, 'i-1', {
          from: 'promoting',
          to: 'active',
          owner: 'ctl-a',
        });
        expect(again).toEqual({ record: active.record, changed: false });
        expect(active.record.version).toBe(5);
      });

      it('a live lease of another owner refuses the change with LeaseHeldError', async () => {
        await store.insert(newInstance('i-1', { owner: 'ctl-a', leaseMs: LEASE_MS }));
        const before = await store.get(POOL, 'i-1');
        const err = await rejection(
          store.transition(POOL, 'i-1', { from: 'booting', to: 'warming', owner: 'ctl-b' }),
        );
        expect(err).toBeInstanceOf(LeaseHeldError);
        expect(err).toMatchObject({ code: 'lease_held', instanceId: 'i-1', owner: 'ctl-a' });
        expect(await store.get(POOL, 'i-1')).toEqual(before);

        // A retry of a step another owner made and still holds is not ours to report as done.
        await store.transition(POOL, 'i-1', { from: 'booting', to: 'warming', owner: 'ctl-a' });
        const retried = await rejection(
          store.transition(POOL, 'i-1', { from: 'booting', to: 'warming', owner: 'ctl-b' }),
        );
        expect(retried).toBeInstanceOf(LeaseHeldError);
      });

      it('a lease lives until its expiry time on the clock, then another owner may take the instance', async () => {
        const start = clock.now();
        await store.insert(newInstance('i-1', { owner: 'ctl-a', leaseMs: LEASE_MS }));
        await clock.advance(LEASE_MS - 1);
        const err = await rejection(
          store.transition(POOL, 'i-1', { from: 'booting', to: 'warming', owner: 'ctl-b' }),
        );
        expect(err).toBeInstanceOf(LeaseHeldError);
        await clock.advance(1);
        expect(clock.now()).toBe(start + LEASE_MS);
        const res = await store.transition(POOL, 'i-1', {
          from: 'booting',
          to: 'warming',
          owner: 'ctl-b',
          leaseMs: 300,
        });
        expect(res.changed).toBe(true);
        expect(res.record.lease).toEqual({ owner: 'ctl-b', expiresAt: start + LEASE_MS + 300 });
        const back = await rejection(
          store.transition(POOL, 'i-1', { from: 'warming', to: 'warm', owner: 'ctl-a' }),
        );
        expect(back).toBeInstanceOf(LeaseHeldError);
        expect(back).toMatchObject({ owner: 'ctl-b' });
      });

      it('`force` takes over a live lease of another owner', async () => {
        await store.insert(newInstance('i-1', { owner: 'ctl-a', leaseMs: 60_000 }));
        const t = clock.now();
        const res = await store.transition(POOL, 'i-1', {
          from: 'booting',
          to: 'deleting',
          owner: 'reconcile',
          leaseMs: 400,
          force: true,
        });
        expect(res.changed).toBe(true);
        expect(res.record).toMatchObject({
          state: 'deleting',
          version: 2,
          lease: { owner: 'reconcile', expiresAt: t + 400 },
        });
      });

      it('`force` does not override the lifecycle or a stale `from`', async () => {
        await store.insert(newInstance('i-1', { owner: 'ctl-a', leaseMs: 60_000 }));
        const stale = await rejection(
          store.transition(POOL, 'i-1', { from: 'warm', to: 'promoting', owner: 'reconcile', force: true }),
        );
        expect(stale).toBeInstanceOf(StaleStateError);
        expect((await store.get(POOL, 'i-1'))?.version).toBe(1);
      });

      it('in-flight states take a lease of leaseMs; resting states (warm, active, failed) clear it', async () => {
        expect([...RESTING].sort()).toEqual(['active', 'failed', 'warm']);
        await store.insert(newInstance('i-1', { leaseMs: 100 }));
        let t = clock.now();
        let rec = (
          await store.transition(POOL, 'i-1', {
            from: 'booting',
            to: 'warming',
            owner: 'ctl-a',
            leaseMs: 777,
          })
        ).record;
        expect(rec.lease).toEqual({ owner: 'ctl-a', expiresAt: t + 777 });
        rec = (
          await store.transition(POOL, 'i-1', { from: 'warming', to: 'warm', owner: 'ctl-a', leaseMs: 777 })
        ).record;
        expect(rec.lease).toBeUndefined();
        // A resting instance has no lease: any controller may move it.
        await clock.advance(3);
        t = clock.now();
        rec = (
          await store.transition(POOL, 'i-1', { from: 'warm', to: 'promoting', owner: 'ctl-b', leaseMs: 50 })
        ).record;
        expect(rec.lease).toEqual({ owner: 'ctl-b', expiresAt: t + 50 });
        rec = (await store.transition(POOL, 'i-1', { from: 'promoting', to: 'active', owner: 'ctl-b' }))
          .record;
        expect(rec.lease).toBeUndefined();
        rec = (await store.transition(POOL, 'i-1', { from: 'active', to: 'failed', owner: 'ctl-c' })).record;
        expect(rec.lease).toBeUndefined();
        expect(rec.version).toBe(6);
      });
    });

    describe('acquireLease', () => {
      it('takes a free lease without moving the instance', async () => {
        const before = await drive('i-1', ['warming', 'warm']);
        expect(before.lease).toBeUndefined();
        await clock.advance(10);
        const t = clock.now();
        const rec = await store.acquireLease(POOL, 'i-1', { owner: 'reconcile', leaseMs: 700 });
        const expected: InstanceRecord = { ...before, lease: { owner: 'reconcile', expiresAt: t + 700 } };
        expect(rec).toEqual(expected);
        expect(await store.get(POOL, 'i-1')).toEqual(expected);
      });

      it('takes an expired lease, renews our own, and refuses a live one of another owner', async () => {
        const start = clock.now();
        const inserted = await store.insert(newInstance('i-1', { owner: 'ctl-a', leaseMs: LEASE_MS }));
        const renewed = await store.acquireLease(POOL, 'i-1', { owner: 'ctl-a', leaseMs: 5_000 });
        expect(renewed).toEqual({ ...inserted, lease: { owner: 'ctl-a', expiresAt: start + 5_000 } });

        await clock.advance(4_999);
        const before = await store.get(POOL, 'i-1');
        const err = await rejection(store.acquireLease(POOL, 'i-1', { owner: 'reconcile', leaseMs: 100 }));
        expect(err).toBeInstanceOf(LeaseHeldError);
        expect(err).toMatchObject({ code: 'lease_held', instanceId: 'i-1', owner: 'ctl-a' });
        expect(await store.get(POOL, 'i-1')).toEqual(before);

        await clock.advance(1);
        const taken = await store.acquireLease(POOL, 'i-1', { owner: 'reconcile', leaseMs: 100 });
        expect(taken.lease).toEqual({ owner: 'reconcile', expiresAt: start + 5_100 });
        expect(taken).toMatchObject({ state: 'booting', version: 1, since: inserted.since });
      });

      it('the new holder may move the instance on; the old one may not', async () => {
        await store.insert(newInstance('i-1', { owner: 'ctl-a', leaseMs: LEASE_MS }));
        await clock.advance(LEASE_MS);
        await store.acquireLease(POOL, 'i-1', { owner: 'reconcile', leaseMs: LEASE_MS });
        const err = await rejection(
          store.transition(POOL, 'i-1', { from: 'booting', to: 'warming', owner: 'ctl-a' }),
        );
        expect(err).toBeInstanceOf(LeaseHeldError);
        const res = await store.transition(POOL, 'i-1', {
          from: 'booting',
          to: 'failed',
          owner: 'reconcile',
        });
        expect(res.changed).toBe(true);
        expect(res.record.lease).toBeUndefined();
      });

      it('checks the expected state and the id', async () => {
        await drive('i-1', ['warming']);
        const ok = await store.acquireLease(POOL, 'i-1', { owner: 'ctl-a', leaseMs: 10, state: 'warming' });
        expect(ok.state).toBe('warming');
        const before = await store.get(POOL, 'i-1');
        const stale = await rejection(
          store.acquireLease(POOL, 'i-1', { owner: 'ctl-a', leaseMs: 10, state: 'warm' }),
        );
        expect(stale).toBeInstanceOf(StaleStateError);
        expect(stale).toMatchObject({
          code: 'stale_state',
          instanceId: 'i-1',
          expected: ['warm'],
          actual: 'warming',
        });
        expect(await store.get(POOL, 'i-1')).toEqual(before);
        const unknown = await rejection(store.acquireLease(POOL, 'nope', { owner: 'ctl-a', leaseMs: 10 }));
        expect(unknown).toBeInstanceOf(UnknownInstanceError);
        expect(unknown).toMatchObject({ pool: POOL, instanceId: 'nope' });
        const otherPool = await rejection(
          store.acquireLease(OTHER_POOL, 'i-1', { owner: 'ctl-a', leaseMs: 10 }),
        );
        expect(otherPool).toBeInstanceOf(UnknownInstanceError);
      });

      it('hands out a copy', async () => {
        await store.insert(newInstance('i-1'));
        const rec = await store.acquireLease(POOL, 'i-1', { owner: 'ctl-a', leaseMs: 10 });
        if (rec.lease) rec.lease.owner = 'thief';
        rec.state = 'deleting';
        expect(await store.get(POOL, 'i-1')).toMatchObject({ state: 'booting', lease: { owner: 'ctl-a' } });
      });
    });

    describe('claimWarm', () => {
      it('claims count warm instances into promoting, leased to the owner, and nothing else', async () => {
        const seeded = await seedWarm({ h1: 5 });
        await clock.advance(20);
        const t = clock.now();
        const claim = await store.claimWarm(POOL, claimRequest('c1', 3, { owner: 'ctl-p', leaseMs: 4_000 }));
        expect(claim.claimId).toBe('c1');
        expect(claim.fresh).toBe(true);
        expect(claim.coldSlots).toBe(0);
        expect(ids(claim)).toEqual(['h1-0', 'h1-1', 'h1-2']);
        for (const rec of claim.instances) {
          expect(rec).toMatchObject({
            state: 'promoting',
            since: t,
            version: 4,
            lease: { owner: 'ctl-p', expiresAt: t + 4_000 },
          });
          expect(await store.get(POOL, rec.id)).toEqual(rec);
        }
        const states = await statesOf();
        expect(seeded.filter((id) => states[id] === 'warm')).toEqual(['h1-3', 'h1-4']);
      });

      it('refuses a count or bound that is not a whole number >= 0, and claims nothing', async () => {
        await seedWarm({ h1: 3 });
        for (const [count, maxServing] of [
          [2.5, 10],
          [-1, 10],
          [Number.NaN, 10],
          [2, 1.5],
        ] as const) {
          await expect(
            store.claimWarm(POOL, claimRequest(`bad-${count}-${maxServing}`, count, { maxServing })),
          ).rejects.toThrow(/must be a whole number >= 0/);
        }
        expect(Object.values(await statesOf())).toEqual(['warm', 'warm', 'warm']);
      });

      it('asks for more than the pool holds: all warm instances plus cold slots for the rest', async () => {
        await seedWarm({ h1: 2, h2: 1 });
        const claim = await store.claimWarm(POOL, claimRequest('c1', 8, { maxServing: 100 }));
        expect(claim.instances).toHaveLength(3);
        expect(claim.coldSlots).toBe(5);
        expect(Object.values(await statesOf())).toEqual(['promoting', 'promoting', 'promoting']);
      });

      it('never passes maxServing: promoting + active + booting-for-active + live cold slots count', async () => {
        await seedWarm({ h1: 6 });
        // Already serving: one active, one promoting, one cold launch booting straight into service.
        await drive('x-active', ['warming', 'warm', 'promoting', 'active']);
        await drive('x-promoting', ['warming', 'warm', 'promoting']);
        await store.insert(newInstance('x-cold', { purpose: 'active' }));
        // Not serving: a warm-bound launch, warming, returning and failed instances.
        await store.insert(newInstance('x-boot-warm', { purpose: 'warm' }));
        await drive('x-warming', ['warming']);
        await drive('x-returning', ['warming', 'warm', 'promoting', 'active', 'returning']);
        await drive('x-failed', ['failed']);

        const first = await store.claimWarm(POOL, claimRequest('c1', 10, { maxServing: 5 }));
        expect(first.instances).toHaveLength(2);
        expect(first.coldSlots).toBe(0);
        const none = await store.claimWarm(POOL, claimRequest('c2', 1, { maxServing: 5 }));
        expect(none.instances).toEqual([]);
        expect(none.coldSlots).toBe(0);
        const wider = await store.claimWarm(POOL, claimRequest('c3', 10, { maxServing: 9 }));
        expect(wider.instances).toHaveLength(4);
        expect(wider.coldSlots).toBe(0);
        // 3 + 2 + 4 serving, no warm left: the remaining room becomes cold slots.
        const cold = await store.claimWarm(POOL, claimRequest('c4', 10, { maxServing: 12 }));
        expect(cold.instances).toEqual([]);
        expect(cold.coldSlots).toBe(3);
        // Cold slots of a live claim count even before a launch uses them.
        const after = await store.claimWarm(POOL, claimRequest('c5', 10, { maxServing: 13 }));
        expect(after.coldSlots).toBe(1);
      });

      it('a maxServing below what already serves claims nothing', async () => {
        await seedWarm({ h1: 2 });
        await drive('x-active', ['warming', 'warm', 'promoting', 'active']);
        const claim = await store.claimWarm(POOL, claimRequest('c1', 2, { maxServing: 0 }));
        expect(claim).toEqual({ claimId: 'c1', instances: [], coldSlots: 0, fresh: true });
        expect(await statesOf()).toEqual({ 'h1-0': 'warm', 'h1-1': 'warm', 'x-active': 'active' });
      });

      it('spreads over hosts, always taking from the host with the most warm left', async () => {
        await seedWarm({ h1: 5, h2: 2, h3: 1 });
        // 5/2/1 → 4/2/1 → 3/2/1 → 2/2/1: all three come from h1.
        const claim = await store.claimWarm(POOL, claimRequest('c1', 3));
        expect(countBy(claim.instances, (r) => r.host)).toEqual({ h1: 3 });
        // 2/2/1 → 1/2/1 or 2/1/1 → 1/1/1 → then one of the three.
        const next = await store.claimWarm(POOL, claimRequest('c2', 2));
        expect(countBy(next.instances, (r) => r.host)).toEqual({ h1: 1, h2: 1 });
        const left = countBy(
          (await store.list(POOL)).filter((r) => r.state === 'warm'),
          (r) => r.host,
        );
        expect(left).toEqual({ h1: 1, h2: 1, h3: 1 });
      });

      it('with 4/2/1 warm, claiming 3 leaves 2/1/1 in some order and claiming 4 leaves 1/1/1', async () => {
        await seedWarm({ h1: 4, h2: 2, h3: 1 }, { prefix: 'a-' });
        await seedWarm({ h1: 4, h2: 2, h3: 1 }, { pool: OTHER_POOL, prefix: 'b-' });
        const three = await store.claimWarm(POOL, claimRequest('c1', 3));
        expect(three.instances).toHaveLength(3);
        const left = countBy(
          (await store.list(POOL)).filter((r) => r.state === 'warm'),
          (r) => r.host,
        );
        expect(Object.values(left).sort()).toEqual([1, 1, 2]);
        expect(left.h3).toBe(1);
        const four = await store.claimWarm(OTHER_POOL, claimRequest('c1', 4));
        expect(countBy(four.instances, (r) => r.host)).toEqual({ h1: 3, h2: 1 });
      });

      it('takes the fastest tier first (WAKE_RANK), then the next', async () => {
        await seedWarm({ h1: 3 }, { warmState: 'stopped', prefix: 'stopped-' });
        await seedWarm({ h2: 1 }, { warmState: 'paused', prefix: 'paused-' });
        await seedWarm({ h3: 1 }, { warmState: 'shelved', prefix: 'shelved-' });
        await seedWarm({ h3: 1 }, { warmState: 'running', prefix: 'running-' });
        const claim = await store.claimWarm(POOL, claimRequest('c1', 3));
        expect(ids(claim).sort()).toEqual(['paused-h2-0', 'running-h3-0', 'stopped-h1-0']);
        const rest = await store.claimWarm(POOL, claimRequest('c2', 3));
        expect(ids(rest).sort()).toEqual(['shelved-h3-0', 'stopped-h1-1', 'stopped-h1-2']);
      });

      it('wakes tier by tier across every warm state, slowest last', async () => {
        const bySpeed = [...WARM_STATES].sort((a, b) => WAKE_RANK[a] - WAKE_RANK[b]);
        // Insert slowest first, so insertion order cannot explain the answer.
        for (const ws of [...bySpeed].reverse()) await seedWarm({ [`host-${ws}`]: 1 }, { warmState: ws });
        const order: WarmState[] = [];
        for (let i = 0; i < bySpeed.length; i++) {
          const claim = await store.claimWarm(POOL, claimRequest(`c${i}`, 1));
          expect(claim.instances).toHaveLength(1);
          const [rec] = claim.instances;
          if (rec) order.push(rec.warmState);
        }
        expect(order).toEqual(bySpeed);
      });

      it('takes the oldest instance of a host first', async () => {
        // Ids sort the other way round from age, so only createdAt can explain the order.
        await drive('z-oldest', ['warming', 'warm'], { host: 'h1' });
        await clock.advance(100);
        await drive('m-middle', ['warming', 'warm'], { host: 'h1' });
        await clock.advance(100);
        await drive('a-newest', ['warming', 'warm'], { host: 'h1' });
        const order: string[] = [];
        for (let i = 0; i < 3; i++) order.push(...ids(await store.claimWarm(POOL, claimRequest(`c${i}`, 1))));
        expect(order).toEqual(['z-oldest', 'm-middle', 'a-newest']);
      });

      it('oldest first holds even when the oldest reached warm last', async () => {
        await store.insert(newInstance('old', { host: 'h1' }));
        await clock.advance(100);
        await drive('new', ['warming', 'warm'], { host: 'h1' });
        await store.transition(POOL, 'old', { from: 'booting', to: 'warming', owner: 'ctl-a' });
        await store.transition(POOL, 'old', { from: 'warming', to: 'warm', owner: 'ctl-a' });
        const claim = await store.claimWarm(POOL, claimRequest('c1', 1));
        expect(ids(claim)).toEqual(['old']);
      });

      it('is idempotent per claimId until its ttl passes', async () => {
        await seedWarm({ h1: 3, h2: 3 });
        const first = await store.claimWarm(POOL, claimRequest('c1', 2, { maxServing: 4, ttlMs: 10_000 }));
        expect(first.fresh).toBe(true);
        expect(first.instances).toHaveLength(2);
        await clock.advance(9_999);
        const retry = await store.claimWarm(POOL, claimRequest('c1', 5, { maxServing: 4, ttlMs: 10_000 }));
        expect(retry).toEqual({ ...first, fresh: false });
        expect(Object.values(await statesOf()).filter((s) => s === 'promoting')).toHaveLength(2);

        await clock.advance(1);
        const later = await store.claimWarm(POOL, claimRequest('c1', 5, { maxServing: 4, ttlMs: 10_000 }));
        expect(later.fresh).toBe(true);
        expect(later.instances).toHaveLength(2);
        expect(later.coldSlots).toBe(0);
        expect(ids(later).filter((id) => ids(first).includes(id))).toEqual([]);
        expect(Object.values(await statesOf()).filter((s) => s === 'promoting')).toHaveLength(4);
      });

      it('the stored answer keeps its cold slots too', async () => {
        await seedWarm({ h1: 1 });
        const first = await store.claimWarm(POOL, claimRequest('c1', 4, { maxServing: 3 }));
        expect(first.instances).toHaveLength(1);
        expect(first.coldSlots).toBe(2);
        const retry = await store.claimWarm(POOL, claimRequest('c1', 4, { maxServing: 3 }));
        expect(retry).toEqual({ ...first, fresh: false });
      });

      it('an insert under a claim consumes one cold slot; with none left it is refused (no_cold_slot)', async () => {
        const claim = await store.claimWarm(POOL, claimRequest('c1', 2, { maxServing: 10 }));
        expect(claim.coldSlots).toBe(2);
        await store.insert(newInstance('cold-1', { purpose: 'active', claimId: 'c1' }));
        // Inserting the same id again is still a no-op: it does not consume a second slot.
        await store.insert(newInstance('cold-1', { purpose: 'active', claimId: 'c1' }));
        await store.insert(newInstance('cold-2', { purpose: 'active', claimId: 'c1' }));
        const err = await rejection(
          store.insert(newInstance('cold-3', { purpose: 'active', claimId: 'c1' })),
        );
        expect(err).toBeInstanceOf(WarmpoolError);
        expect(err).toMatchObject({ code: 'no_cold_slot' });
        expect(await store.get(POOL, 'cold-3')).toBeUndefined();
        expect((await store.list(POOL)).map((r) => r.id).sort()).toEqual(['cold-1', 'cold-2']);
        const unknown = await rejection(
          store.insert(newInstance('cold-4', { purpose: 'active', claimId: 'nope' })),
        );
        expect(unknown).toMatchObject({ code: 'no_cold_slot' });
      });

      it('a cold launch under a claim keeps its place in maxServing: the slot becomes the instance', async () => {
        const claim = await store.claimWarm(POOL, claimRequest('c1', 2, { maxServing: 2 }));
        expect(claim.coldSlots).toBe(2);
        await store.insert(newInstance('cold-1', { purpose: 'active', claimId: 'c1' }));
        const full = await store.claimWarm(POOL, claimRequest('c2', 1, { maxServing: 2 }));
        expect(full.coldSlots).toBe(0);
        await store.releaseColdSlots(POOL, 'c1', 1);
        const one = await store.claimWarm(POOL, claimRequest('c3', 5, { maxServing: 2 }));
        expect(one.coldSlots).toBe(1);
      });

      it('cold slots lapse with the claim ttl', async () => {
        const claim = await store.claimWarm(POOL, claimRequest('c1', 3, { maxServing: 3, ttlMs: 1_000 }));
        expect(claim.coldSlots).toBe(3);
        expect(
          (await store.claimWarm(POOL, claimRequest('c2', 1, { maxServing: 3, ttlMs: 1_000 }))).coldSlots,
        ).toBe(0);
        await clock.advance(1_000);
        const err = await rejection(store.insert(newInstance('late', { purpose: 'active', claimId: 'c1' })));
        expect(err).toMatchObject({ code: 'no_cold_slot' });
        const c3 = await store.claimWarm(POOL, claimRequest('c3', 5, { maxServing: 3 }));
        expect(c3.coldSlots).toBe(3);
      });

      it('reservedSlots counts the cold slots live claims hold: taken by launches, released, lapsed', async () => {
        expect(await store.reservedSlots(POOL)).toBe(0);
        await store.claimWarm(POOL, claimRequest('c1', 3, { maxServing: 10, ttlMs: 1_000 }));
        await store.claimWarm(POOL, claimRequest('c2', 2, { maxServing: 10, ttlMs: 5_000 }));
        expect(await store.reservedSlots(POOL)).toBe(5);
        // A retried claim reserves nothing more.
        await store.claimWarm(POOL, claimRequest('c1', 3, { maxServing: 10, ttlMs: 1_000 }));
        expect(await store.reservedSlots(POOL)).toBe(5);
        await store.insert(newInstance('cold-1', { purpose: 'active', claimId: 'c1' }));
        await store.releaseColdSlots(POOL, 'c2', 1);
        expect(await store.reservedSlots(POOL)).toBe(3);
        expect(await store.reservedSlots(`${POOL}-other`)).toBe(0);
        await clock.advance(1_000);
        expect(await store.reservedSlots(POOL)).toBe(1);
        await clock.advance(4_000);
        expect(await store.reservedSlots(POOL)).toBe(0);
      });

      it('releaseColdSlots frees room, never more than the claim still holds', async () => {
        const c1 = await store.claimWarm(POOL, claimRequest('c1', 4, { maxServing: 4 }));
        expect(c1.coldSlots).toBe(4);
        await store.releaseColdSlots(POOL, 'c1', 1);
        expect((await store.claimWarm(POOL, claimRequest('c2', 9, { maxServing: 4 }))).coldSlots).toBe(1);
        await store.releaseColdSlots(POOL, 'c1', 10);
        // c1 gave back its last 3; c2 still holds 1.
        expect((await store.claimWarm(POOL, claimRequest('c3', 9, { maxServing: 4 }))).coldSlots).toBe(3);
        const err = await rejection(store.insert(newInstance('x', { purpose: 'active', claimId: 'c1' })));
        expect(err).toMatchObject({ code: 'no_cold_slot' });
        // Unknown claims are ignored.
        await store.releaseColdSlots(POOL, 'nope', 3);
        expect((await store.claimWarm(POOL, claimRequest('c4', 9, { maxServing: 4 }))).coldSlots).toBe(0);
      });

      it('concurrent claims never share an instance and never pass maxServing', async () => {
        const hosts: Record<string, number> = {};
        for (let h = 0; h < 10; h++) hosts[`h${h}`] = 10;
        await seedWarm(hosts);
        const rand = mulberry32(42);
        const counts = Array.from({ length: 50 }, () => 1 + Math.floor(rand() * 4));
        const asked = counts.reduce((a, b) => a + b, 0);
        expect(asked).toBeGreaterThan(60);
        const claims = await Promise.all(
          counts.map((count, i) =>
            store.claimWarm(POOL, claimRequest(`c${i}`, count, { owner: `ctl-${i}`, maxServing: 60 })),
          ),
        );
        const claimedIds = claims.flatMap(ids);
        expect(new Set(claimedIds).size).toBe(claimedIds.length);
        expect(claimedIds).toHaveLength(60);
        expect(claims.reduce((n, c) => n + c.coldSlots, 0)).toBe(0);
        claims.forEach((claim, i) => {
          expect(claim.instances.length).toBeLessThanOrEqual(counts[i] ?? 0);
          for (const rec of claim.instances) expect(rec.lease?.owner).toBe(`ctl-${i}`);
        });
        const records = await store.list(POOL);
        expect(
          records
            .filter((r) => r.state === 'promoting')
            .map((r) => r.id)
            .sort(),
        ).toEqual([...claimedIds].sort());
        expect(records.filter((r) => r.state === 'warm')).toHaveLength(40);
      });

      it('concurrent claims over a small pool split warm instances and cold slots within maxServing', async () => {
        await seedWarm({ h1: 10, h2: 10, h3: 10 });
        const rand = mulberry32(7);
        const counts = Array.from({ length: 50 }, () => Math.floor(rand() * 6));
        const asked = counts.reduce((a, b) => a + b, 0);
        expect(asked).toBeGreaterThan(60);
        const claims = await Promise.all(
          counts.map((count, i) => store.claimWarm(POOL, claimRequest(`c${i}`, count, { maxServing: 60 }))),
        );
        const claimedIds = claims.flatMap(ids);
        expect(new Set(claimedIds).size).toBe(30);
        expect(claimedIds).toHaveLength(30);
        expect(claims.reduce((n, c) => n + c.coldSlots, 0)).toBe(30);
        claims.forEach((claim, i) => {
          expect(claim.instances.length + claim.coldSlots).toBeLessThanOrEqual(counts[i] ?? 0);
        });
        const more = await store.claimWarm(POOL, claimRequest('late', 1, { maxServing: 60 }));
        expect(more.instances.length + more.coldSlots).toBe(0);
      });

      it('concurrent retries of one claimId claim once', async () => {
        await seedWarm({ h1: 5, h2: 5 });
        const claims = await Promise.all(
          Array.from({ length: 20 }, () => store.claimWarm(POOL, claimRequest('same', 3))),
        );
        expect(claims.filter((c) => c.fresh)).toHaveLength(1);
        const fresh = claims.find((c) => c.fresh);
        for (const c of claims) expect(ids(c)).toEqual(fresh ? ids(fresh) : []);
        expect(Object.values(await statesOf()).filter((s) => s === 'promoting')).toHaveLength(3);
      });
    });

    describe('named locks', () => {
      it('are exclusive per name and pool, and re-entrant for the owner', async () => {
        expect(await store.tryLock(POOL, 'refill', 'ctl-a', 1_000)).toBe(true);
        expect(await store.tryLock(POOL, 'refill', 'ctl-b', 1_000)).toBe(false);
        expect(await store.tryLock(POOL, 'refill', 'ctl-a', 1_000)).toBe(true);
        expect(await store.tryLock(POOL, 'reconcile', 'ctl-b', 1_000)).toBe(true);
        expect(await store.tryLock(OTHER_POOL, 'refill', 'ctl-b', 1_000)).toBe(true);
        expect(await store.tryLock(POOL, 'reconcile', 'ctl-a', 1_000)).toBe(false);
      });

      it('expire with their ttl; taking it again as owner renews it', async () => {
        expect(await store.tryLock(POOL, 'refill', 'ctl-a', 1_000)).toBe(true);
        await clock.advance(999);
        expect(await store.tryLock(POOL, 'refill', 'ctl-b', 1_000)).toBe(false);
        await clock.advance(1);
        expect(await store.tryLock(POOL, 'refill', 'ctl-b', 1_000)).toBe(true);
        expect(await store.tryLock(POOL, 'refill', 'ctl-a', 1_000)).toBe(false);
        await clock.advance(800);
        expect(await store.tryLock(POOL, 'refill', 'ctl-b', 1_000)).toBe(true);
        await clock.advance(800);
        expect(await store.tryLock(POOL, 'refill', 'ctl-a', 1_000)).toBe(false);
      });

      it('unlock by the owner frees the lock; by anyone else it does nothing', async () => {
        expect(await store.tryLock(POOL, 'refill', 'ctl-a', 10_000)).toBe(true);
        await store.unlock(POOL, 'refill', 'ctl-b');
        expect(await store.tryLock(POOL, 'refill', 'ctl-b', 10_000)).toBe(false);
        await store.unlock(POOL, 'refill', 'ctl-a');
        expect(await store.tryLock(POOL, 'refill', 'ctl-b', 10_000)).toBe(true);
        // ctl-b holds it now: a late unlock by ctl-a must not free it.
        await store.unlock(POOL, 'refill', 'ctl-a');
        expect(await store.tryLock(POOL, 'refill', 'ctl-c', 10_000)).toBe(false);
        await store.unlock(POOL, 'never-taken', 'ctl-a');
      });
    });

    describe('pool state', () => {
      interface History {
        desired: number[];
        note: { text: string };
      }

      it('is empty at first and written with compare-and-set on its version', async () => {
        expect(await store.getPoolState<History>(POOL)).toBeUndefined();
        const v1: History = { desired: [1, 2], note: { text: 'first' } };
        expect(await store.putPoolState(POOL, v1, 1)).toBe(false);
        expect(await store.getPoolState<History>(POOL)).toBeUndefined();
        expect(await store.putPoolState(POOL, v1, 0)).toBe(true);
        expect(await store.getPoolState<History>(POOL)).toEqual({ version: 1, data: v1 });

        const v2: History = { desired: [3], note: { text: 'second' } };
        expect(await store.putPoolState(POOL, v2, 0)).toBe(false);
        expect(await store.getPoolState<History>(POOL)).toEqual({ version: 1, data: v1 });
        expect(await store.putPoolState(POOL, v2, 1)).toBe(true);
        expect(await store.getPoolState<History>(POOL)).toEqual({ version: 2, data: v2 });
        expect(await store.putPoolState(POOL, v1, 1)).toBe(false);
        expect(await store.getPoolState<History>(OTHER_POOL)).toBeUndefined();
      });

      it('round-trips data as a copy', async () => {
        const data: History = { desired: [5, 8, 13], note: { text: 'keep' } };
        expect(await store.putPoolState(POOL, data, 0)).toBe(true);
        data.desired.push(99);
        data.note.text = 'changed after write';
        const read = await store.getPoolState<History>(POOL);
        expect(read).toEqual({ version: 1, data: { desired: [5, 8, 13], note: { text: 'keep' } } });
        if (!read) throw new Error('missing');
        read.data.desired.length = 0;
        read.data.note.text = 'changed after read';
        read.version = 42;
        expect(await store.getPoolState<History>(POOL)).toEqual({
          version: 1,
          data: { desired: [5, 8, 13], note: { text: 'keep' } },
        });
      });

      it('concurrent writers at one version: exactly one wins', async () => {
        const results = await Promise.all(
          Array.from({ length: 10 }, (_, i) => store.putPoolState(POOL, { writer: i }, 0)),
        );
        expect(results.filter(Boolean)).toHaveLength(1);
        const winner = results.indexOf(true);
        expect(await store.getPoolState<{ writer: number }>(POOL)).toEqual({
          version: 1,
          data: { writer: winner },
        });
      });
    });

    describe('metric intervals', () => {
      const stats = (count: number, sum: number, max: number, last: number, lastTs: number) => ({
        count,
        sum,
        max,
        last,
        lastTs,
      });

      it('merges batches into one interval: count and sum add, max holds, last follows the newest sample', async () => {
        expect(await store.getInterval(POOL, 'rps', 10_000)).toBeUndefined();
        expect(await store.mergeInterval(POOL, 'rps', 10_000, stats(2, 30, 20, 20, 10_500), 60_000)).toEqual(
          stats(2, 30, 20, 20, 10_500),
        );
        // An older sample arrives late: it adds to count, sum and max but does not become `last`.
        expect(
          await store.mergeInterval(POOL, 'rps', 10_000, stats(1, 25.5, 25.5, 25.5, 10_100), 60_000),
        ).toEqual(stats(3, 55.5, 25.5, 20, 10_500));
        expect(await store.getInterval(POOL, 'rps', 10_000)).toEqual(stats(3, 55.5, 25.5, 20, 10_500));
      });

      it('keeps intervals, metrics and pools apart', async () => {
        await store.mergeInterval(POOL, 'rps', 10_000, stats(1, 1, 1, 1, 10_000), 60_000);
        await store.mergeInterval(POOL, 'rps', 20_000, stats(1, 2, 2, 2, 20_000), 60_000);
        await store.mergeInterval(POOL, 'cpu', 10_000, stats(1, 3, 3, 3, 10_000), 60_000);
        await store.mergeInterval(OTHER_POOL, 'rps', 10_000, stats(1, 4, 4, 4, 10_000), 60_000);
        expect((await store.getInterval(POOL, 'rps', 10_000))?.sum).toBe(1);
        expect((await store.getInterval(POOL, 'rps', 20_000))?.sum).toBe(2);
        expect((await store.getInterval(POOL, 'cpu', 10_000))?.sum).toBe(3);
        expect((await store.getInterval(OTHER_POOL, 'rps', 10_000))?.sum).toBe(4);
      });

      it('concurrent merges all count', async () => {
        await Promise.all(
          Array.from({ length: 20 }, (_, i) =>
            store.mergeInterval(POOL, 'rps', 0, stats(1, i, i, i, i), 60_000),
          ),
        );
        expect(await store.getInterval(POOL, 'rps', 0)).toEqual(stats(20, 190, 19, 19, 19));
      });
    });

    describe('markOnce (at-least-once delivery)', () => {
      it('is true the first time a key is seen, false on every repeat within the ttl', async () => {
        expect(await store.markOnce(POOL, 'batch-1', 1_000)).toBe(true);
        expect(await store.markOnce(POOL, 'batch-1', 1_000)).toBe(false);
        expect(await store.markOnce(POOL, 'batch-2', 1_000)).toBe(true);
        expect(await store.markOnce(OTHER_POOL, 'batch-1', 1_000)).toBe(true);
      });

      it('isMarked reads without marking', async () => {
        expect(await store.isMarked(POOL, 'k')).toBe(false);
        expect(await store.isMarked(POOL, 'k')).toBe(false);
        expect(await store.markOnce(POOL, 'k', 1_000)).toBe(true);
        expect(await store.isMarked(POOL, 'k')).toBe(true);
        expect(await store.isMarked(OTHER_POOL, 'k')).toBe(false);
        await clock.advance(1_000);
        expect(await store.isMarked(POOL, 'k')).toBe(false);
      });

      it('forgets a key once its ttl has passed on the clock', async () => {
        expect(await store.markOnce(POOL, 'k', 1_000)).toBe(true);
        await clock.advance(999);
        expect(await store.markOnce(POOL, 'k', 1_000)).toBe(false);
        await clock.advance(1);
        expect(await store.markOnce(POOL, 'k', 1_000)).toBe(true);
      });

      it('concurrent deliveries of one key: exactly one is first', async () => {
        const results = await Promise.all(
          Array.from({ length: 10 }, () => store.markOnce(POOL, 'dup', 60_000)),
        );
        expect(results.filter(Boolean)).toHaveLength(1);
      });
    });

    it('an instance launched for service counts as serving only until it rests elsewhere', async () => {
      await store.insert(newInstance('cold', { purpose: 'active' }));
      expect((await store.claimWarm(POOL, claimRequest('c1', 5, { maxServing: 1 }))).coldSlots).toBe(0);
      await store.transition(POOL, 'cold', { from: 'booting', to: 'failed', owner: 'ctl-a' });
      expect((await store.claimWarm(POOL, claimRequest('c2', 5, { maxServing: 1 }))).coldSlots).toBe(1);
    });
  });
}
