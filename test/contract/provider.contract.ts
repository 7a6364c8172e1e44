/**
 * The CloudProvider contract: what every adapter (sim, openstack, ec2) must do, checked through the port
 * alone. A real Nova runs it on the wall clock, so every scenario runs inside `h.run(...)` (the sim's
 * virtual clock, or the identity for a real cloud), waits are generous, and only the warm states the
 * provider claims in `warmStates` are exercised.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WAKE_RANK, WARM_STATES, type WarmState } from '../../lib/domain/index.js';
import {
  type CloudProvider,
  isConflict,
  isInsufficientCapacity,
  isNotFound,
  type ProviderInstance,
  TAGS,
} from '../../lib/providers/index.js';

export interface ProviderHarness {
  provider: CloudProvider;
  /** Hosts the suite may launch on; at least one. */
  hosts: string[];
  /** A pool name no one else uses; the suite also uses `${pool}-other`. */
  pool: string;
  /** Runs a scenario on the provider's clock (VirtualClock.run for the sim; `fn()` for a real cloud). */
  run<T>(fn: () => Promise<T>): Promise<T>;
  teardown?(): Promise<void>;
  /** A host with exactly `free` free slots, to check InsufficientCapacityError. */
  capacityLimited?: { host: string; free: number };
  /** An id in the adapter's format that names no instance (default: a nil-like UUID). */
  unknownId?: string;
}

/** Provider-clock budget for a launch, a wake or a sleep to finish (a busy real cloud may take minutes). */
const SETTLE_MS = 15 * 60_000;
/** Wall-clock budget of one test, for real clouds; the sim needs a fraction of a second. */
const TEST_TIMEOUT = 45 * 60_000;
const DEFAULT_UNKNOWN_ID = '00000000-0000-4000-8000-00000000dead';

async function expectRejects(
  p: Promise<unknown>,
  is: (err: unknown) => boolean,
  what: string,
): Promise<void> {
  let caught: unknown;
  try {
    await p;
  } catch (err) {
    caught = err;
  }
  expect(caught, `expected ${what}`).toBeDefined();
  expect(is(caught), `expected ${what}, got ${String(caught)}`).toBe(true);
}

/** Declares the contract suite for one adapter; `setup` runs before each test. */
export function describeProviderContract(name: string, setup: () => Promise<ProviderHarness>): void {
  describe(`CloudProvider contract: ${name}`, () => {
    let h: ProviderHarness;
    let created: string[];

    beforeEach(async () => {
      h = await setup();
      created = [];
    });

    afterEach(async () => {
      const ids = created;
      if (ids.length > 0) {
        await h.run(async () => {
          await Promise.all(
            ids.map((id) =>
              h.provider.delete(id).catch((err: unknown) => {
                if (!isNotFound(err) && !isConflict(err)) throw err;
              }),
            ),
          );
          // Wait until they are gone so that the next test finds the hosts' slots free.
          await h.provider.waitFor(ids, 'deleted', { timeoutMs: SETTLE_MS });
        });
      }
      await h.teardown?.();
    }, TEST_TIMEOUT);

    const host = () => h.hosts[0]!;
    const supports = (state: WarmState) => h.provider.warmStates.includes(state);
    /** The fastest non-running warm state the provider supports, if any. */
    const fastestSleep = (): WarmState | undefined =>
      h.provider.warmStates.filter((s) => s !== 'running').sort((a, b) => WAKE_RANK[a] - WAKE_RANK[b])[0];

    async function launch(pool = h.pool, onHost = host()): Promise<ProviderInstance> {
      const inst = await h.provider.create({
        pool,
        host: onHost,
        params: {},
        generation: 7,
        tags: { [TAGS.purpose]: 'warm' },
      });
      created.push(inst.id);
      return inst;
    }

    async function untilRunning(inst: ProviderInstance): Promise<ProviderInstance> {
      const res = await h.provider.waitFor([inst.id], 'running', { timeoutMs: SETTLE_MS });
      expect(res.failed).toEqual([]);
      expect(res.timedOut).toEqual([]);
      expect(res.ready.map((r) => r.id)).toEqual([inst.id]);
      return res.ready[0]!;
    }

    async function launchRunning(): Promise<ProviderInstance> {
      return untilRunning(await launch());
    }

    it('declares its kind and a non-empty subset of the warm states', () => {
      expect(h.provider.kind).toMatch(/\S/);
      expect(h.provider.warmStates.length).toBeGreaterThan(0);
      for (const s of h.provider.warmStates) expect(WARM_STATES).toContain(s);
    });

    it('lists the harness hosts with their capacity', { timeout: TEST_TIMEOUT }, async () => {
      await h.run(async () => {
        const hosts = await h.provider.hosts();
        for (const name of h.hosts) {
          const found = hosts.find((x) => x.name === name);
          expect(found, `host ${name}`).toBeDefined();
          expect(found!.used).toBeGreaterThanOrEqual(0);
          expect(found!.used).toBeLessThanOrEqual(found!.capacity);
        }
      });
    });

    it('creates an instance that becomes running, tagged with pool and generation', {
      timeout: TEST_TIMEOUT,
    }, async () => {
      await h.run(async () => {
        const inst = await launch();
        expect(inst.id).toMatch(/\S/);
        expect(inst.status).toBe('building');
        expect(inst.pool).toBe(h.pool);
        expect(inst.host).toBe(host());

        const ready = await untilRunning(inst);
        expect(ready.status).toBe('running');
        expect(ready.busy).toBe(false);

        const got = await h.provider.get(inst.id);
        expect(got.id).toBe(inst.id);
        expect(got.status).toBe('running');
        expect(got.busy).toBe(false);
        expect(got.host).toBe(host());
        expect(got.pool).toBe(h.pool);
        expect(got.generation).toBe(7);
        expect(got.tags[TAGS.pool]).toBe(h.pool);
        expect(got.tags[TAGS.generation]).toBe('7');
        expect(got.tags[TAGS.purpose]).toBe('warm');
      });
    });

    it('lists the instances of its pool and none of another pool', { timeout: TEST_TIMEOUT }, async () => {
      await h.run(async () => {
        const mine = await launch();
        const theirs = await launch(`${h.pool}-other`);

        const listed = await h.provider.list(h.pool);
        expect(listed.map((i) => i.id)).toContain(mine.id);
        expect(listed.map((i) => i.id)).not.toContain(theirs.id);
        for (const i of listed) expect(i.pool).toBe(h.pool);

        const other = await h.provider.list(`${h.pool}-other`);
        expect(other.map((i) => i.id)).toContain(theirs.id);
        expect(other.map((i) => i.id)).not.toContain(mine.id);
      });
    });

    for (const state of WARM_STATES) {
      it(`sleeps to ${state} and wakes back to running`, { timeout: TEST_TIMEOUT }, async (ctx) => {
        ctx.skip(!supports(state), `${name} does not support ${state}`);
        await h.run(async () => {
          const inst = await launchRunning();

          await h.provider.sleep(inst.id, state);
          const slept = await h.provider.waitFor([inst.id], state, { timeoutMs: SETTLE_MS });
          expect(slept.failed).toEqual([]);
          expect(slept.timedOut).toEqual([]);
          expect(slept.ready[0]?.status).toBe(state);
          const asleep = await h.provider.get(inst.id);
          expect(asleep.status).toBe(state);
          expect(asleep.busy).toBe(false);

          await h.provider.wake(inst.id, state);
          const woke = await h.provider.waitFor([inst.id], 'running', { timeoutMs: SETTLE_MS });
          expect(woke.failed).toEqual([]);
          expect(woke.timedOut).toEqual([]);
          const awake = await h.provider.get(inst.id);
          expect(awake.status).toBe('running');
          expect(awake.busy).toBe(false);
          expect(awake.host).toBe(inst.host);
        });
      });
    }

    it('refuses to wake a running instance with ConflictError', { timeout: TEST_TIMEOUT }, async (ctx) => {
      const sleeping = h.provider.warmStates.filter((s) => s !== 'running');
      ctx.skip(sleeping.length === 0, `${name} only keeps running warm instances`);
      await h.run(async () => {
        const inst = await launchRunning();
        for (const state of sleeping) {
          await expectRejects(
            h.provider.wake(inst.id, state),
            isConflict,
            `ConflictError waking from ${state}`,
          );
        }
        expect((await h.provider.get(inst.id)).status).toBe('running');
      });
    });

    it('refuses to put a building instance to sleep with ConflictError', {
      timeout: TEST_TIMEOUT,
    }, async (ctx) => {
      const state = fastestSleep();
      ctx.skip(state === undefined, `${name} only keeps running warm instances`);
      await h.run(async () => {
        const inst = await launch();
        expect(inst.status).toBe('building');
        await expectRejects(
          h.provider.sleep(inst.id, state!),
          isConflict,
          'ConflictError sleeping a building instance',
        );
      });
    });

    it('refuses to put a sleeping instance to sleep again with ConflictError', {
      timeout: TEST_TIMEOUT,
    }, async (ctx) => {
      const state = fastestSleep();
      ctx.skip(state === undefined, `${name} only keeps running warm instances`);
      await h.run(async () => {
        const inst = await launchRunning();
        await h.provider.sleep(inst.id, state!);
        const slept = await h.provider.waitFor([inst.id], state!, { timeoutMs: SETTLE_MS });
        expect(slept.ready.map((r) => r.id)).toEqual([inst.id]);
        await expectRejects(
          h.provider.sleep(inst.id, state!),
          isConflict,
          'ConflictError sleeping a sleeping instance',
        );
        expect((await h.provider.get(inst.id)).status).toBe(state);
      });
    });

    it('deletes an instance: waitFor reports it gone and get throws NotFoundError', {
      timeout: TEST_TIMEOUT,
    }, async () => {
      await h.run(async () => {
        const inst = await launchRunning();
        await h.provider.delete(inst.id);
        const res = await h.provider.waitFor([inst.id], 'running', { timeoutMs: SETTLE_MS });
        expect(res.ready).toEqual([]);
        expect(res.timedOut).toEqual([]);
        expect(res.failed.map((f) => f.id)).toEqual([inst.id]);
        expect(res.failed[0]!.reason).toMatch(/\S/);
        await expectRejects(h.provider.get(inst.id), isNotFound, 'NotFoundError for a deleted instance');
        const listed = await h.provider.list(h.pool);
        expect(listed.map((i) => i.id)).not.toContain(inst.id);
      });
    });

    it('throws NotFoundError deleting an unknown instance', { timeout: TEST_TIMEOUT }, async () => {
      await h.run(async () => {
        await expectRejects(
          h.provider.delete(h.unknownId ?? DEFAULT_UNKNOWN_ID),
          isNotFound,
          'NotFoundError',
        );
      });
    });

    it('throws NotFoundError getting an unknown instance', { timeout: TEST_TIMEOUT }, async () => {
      await h.run(async () => {
        await expectRejects(h.provider.get(h.unknownId ?? DEFAULT_UNKNOWN_ID), isNotFound, 'NotFoundError');
      });
    });

    it('throws NotFoundError creating on an unknown host', { timeout: TEST_TIMEOUT }, async () => {
      await h.run(async () => {
        const attempt = h.provider.create({
          pool: h.pool,
          host: 'no-such-host-warmpool',
          params: {},
          generation: 1,
        });
        // Should an adapter wrongly accept it, make sure the instance is cleaned up.
        attempt.then((inst) => created.push(inst.id)).catch(() => undefined);
        await expectRejects(attempt, isNotFound, 'NotFoundError for an unknown host');
      });
    });

    it('times a wait out when the instance is not there in time', { timeout: TEST_TIMEOUT }, async () => {
      await h.run(async () => {
        const inst = await launch();
        const res = await h.provider.waitFor([inst.id], 'running', { timeoutMs: 1 });
        expect(res.timedOut).toEqual([inst.id]);
        expect(res.ready).toEqual([]);
        expect(res.failed).toEqual([]);
      });
    });

    it('throws InsufficientCapacityError creating past a host’s free slots', {
      timeout: TEST_TIMEOUT,
    }, async (ctx) => {
      const limited = h.capacityLimited;
      ctx.skip(limited === undefined, `${name} has no capacity-limited host in this harness`);
      await h.run(async () => {
        for (let i = 0; i < limited!.free; i++) await launch(h.pool, limited!.host);
        const attempt = h.provider.create({ pool: h.pool, host: limited!.host, params: {}, generation: 1 });
        attempt.then((inst) => created.push(inst.id)).catch(() => undefined);
        await expectRejects(attempt, isInsufficientCapacity, 'InsufficientCapacityError');
      });
    });
  });
}
