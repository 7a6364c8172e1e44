/**
 * Eight controllers race on ONE pool in a real Redis, each through its own RedisStore connection (the same
 * key prefix, a prefix of the test's own), once on the standalone server (REDIS_URL) and once on the
 * three-master cluster (REDIS_CLUSTER_NODES). Each controller runs a few hundred random operations, all
 * interleaved on the server:
 *
 * - promote-like: claimWarm with a unique claim id, a random count 1–5 and maxServing M, then each claimed
 *   instance promoting → active (or back to warm when "the wake was never sent", or failed → deleting →
 *   gone when "the wake failed"); the claim's cold slots are partly launched (insert with the claim id,
 *   booting → active) and the rest given back with releaseColdSlots; an insert past the slots is refused;
 * - retries: the same claim id again (also from two controllers at once, as a twice-delivered request),
 *   the same insert again, the same transition again: each answers what the first did and changes nothing;
 * - demote-like: active → returning → warm, or → deleting → remove; taking an instance another controller
 *   took first is refused (stale / lease held / unknown);
 * - refill-like: insert (purpose warm) → warming → warm; trim-like: warm → deleting → remove, which races
 *   the claims for the same warm instances;
 * - steal-like: a transition of an instance another controller holds under its lease, always refused;
 * - some claims live 1 ms of the (shared, virtual) clock, which a ticker moves on during the run, so claims
 *   lapse while their cold slots are still reserved and inserts race the lapse.
 *
 * Asserted:
 * - no instance is handed out by two claims at once: the test tracks holders; an id a claim hands out must
 *   not be handed out again before it went back to warm (a holder lets go BEFORE it sends the transition
 *   that makes the instance warm, so the check has no false alarm);
 * - serving (promoting + active + cold booting) never passes maxServing, in samples taken concurrently all
 *   through the run from a connection of its own, and at the end;
 * - every operation that changes an instance is logged with the record version it returned; per instance,
 *   the versions are exactly 1, 2, …, n (each change atomic, none lost or doubled, so changes = final
 *   version − 1), each change starts where the previous one ended, and the final record (state, version,
 *   or its absence after a remove) is what its own log says;
 * - the reserved cold slots add up: once every claim is used, given back or lapsed, a claim for M gets
 *   exactly M − serving (instances + cold slots).
 */

import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../lib/clock/index.js';
import {
  type InstanceRecord,
  type InstanceState,
  isWarmpoolError,
  LeaseHeldError,
  StaleStateError,
  UnknownInstanceError,
} from '../../lib/domain/index.js';
import {
  type Claim,
  createRedisStore,
  type RedisStore,
  type TransitionRequest,
} from '../../lib/store/index.js';
import { mulberry32 } from '../../lib/util/index.js';

const POOL = 'race';
const CONTROLLERS = 8;
const OPS_PER_CONTROLLER = 400;
/** maxServing of every claim. */
const M = 20;
/** Warm + on their way to warm that the refill-like operation keeps the pool at. */
const WARM_TARGET = 6;
const HOSTS = ['h1', 'h2', 'h3', 'h4'];
/** Leases and the long claims never lapse during a run (the ticker moves the clock ~1 ms per 10 ms). */
const LEASE_MS = 3_600_000;
const LONG_TTL_MS = 3_600_000;
const SHORT_TTL_MS = 1;
const TICK_REAL_MS = 10;

const HOW =
  'run the tests with `npm test` (it starts Redis), or `bash infra/redis/up` then `. .infra/redis/env`';

function required(name: 'REDIS_URL' | 'REDIS_CLUSTER_NODES'): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: ${HOW}`);
  return v;
}

/** Each controller's choices replay for a seed (the interleaving on the server does not). */
const prng = mulberry32;

const isServing = (r: InstanceRecord) =>
  r.state === 'promoting' || r.state === 'active' || (r.state === 'booting' && r.purpose === 'active');

/** What a controller may meet when it touches an instance another controller may have moved first. */
const lostRace = (err: unknown) =>
  err instanceof StaleStateError || err instanceof UnknownInstanceError || err instanceof LeaseHeldError;

interface Change {
  version: number;
  from: InstanceState | 'none';
  to: InstanceState;
  by: string;
  op: string;
}

interface Stats {
  ops: Record<string, number>;
  freshClaims: number;
  claimedInstances: number;
  coldSlots: number;
  coldLaunched: number;
  coldReleased: number;
  coldRefusedPastSlots: number;
  coldRefusedLapsed: number;
  shortClaims: number;
  /** Claims that got less than asked: maxServing bounded them. */
  boundedClaims: number;
  claimRetries: number;
  duplicateDeliveries: number;
  insertRetries: number;
  transitionRetries: number;
  lostRaces: number;
  /** Moves of another controller's leased instance, refused. */
  stealsRefused: number;
  changes: number;
  removed: number;
  samples: number;
  maxServingSeen: number;
}

interface Target {
  url?: string;
  clusterNodes?: string[];
}

async function raceOnePool(target: () => Target, label: string): Promise<Stats> {
  const clock = new VirtualClock(1_000_000);
  const prefix = `race-${process.pid}-${Date.now()}-${Math.floor(Math.random() * 1e9)}:`;
  const where = target();
  const open = (): RedisStore => createRedisStore({ clock, prefix, ...where });
  const stores = Array.from({ length: CONTROLLERS }, open);
  const sampler = open();
  const checker = open();
  const all = [...stores, sampler, checker];

  const stats: Stats = {
    ops: {},
    freshClaims: 0,
    claimedInstances: 0,
    coldSlots: 0,
    coldLaunched: 0,
    coldReleased: 0,
    coldRefusedPastSlots: 0,
    coldRefusedLapsed: 0,
    shortClaims: 0,
    boundedClaims: 0,
    claimRetries: 0,
    duplicateDeliveries: 0,
    insertRetries: 0,
    transitionRetries: 0,
    lostRaces: 0,
    stealsRefused: 0,
    changes: 0,
    removed: 0,
    samples: 0,
    maxServingSeen: 0,
  };
  const violations: string[] = [];
  const violation = (msg: string) => {
    if (violations.length < 50) violations.push(msg);
  };
  /** Instance id → the claim holding it, from the moment a claim hands it out until it is warm again. */
  const holders = new Map<string, string>();
  const changes = new Map<string, Change[]>();
  const removedIds = new Set<string>();

  const logChange = (rec: InstanceRecord, from: Change['from'], by: string, op: string) => {
    const list = changes.get(rec.id) ?? [];
    list.push({ version: rec.version, from, to: rec.state, by, op });
    changes.set(rec.id, list);
    stats.changes++;
  };

  const runId = async (s: RedisStore): Promise<string | undefined> =>
    where.url === undefined ? undefined : /run_id:(\w+)/.exec(await s.client.info('server'))?.[1];
  let runIdBefore: string | undefined;
  try {
    runIdBefore = await runId(checker);
  } catch (err) {
    await Promise.all(all.map((s) => s.close()));
    throw err;
  }

  let running = true;
  const ticker = (async () => {
    while (running) {
      await new Promise((r) => setTimeout(r, TICK_REAL_MS));
      await clock.advance(1);
    }
  })();

  const samplerLoop = (async () => {
    while (running) {
      const recs = await sampler.list(POOL);
      const serving = recs.filter(isServing).length;
      stats.samples++;
      stats.maxServingSeen = Math.max(stats.maxServingSeen, serving);
      if (serving > M) violation(`sample: ${serving} serving > maxServing ${M}`);
      for (const r of recs) {
        if (r.state === 'promoting' && r.lease === undefined)
          violation(`sample: ${r.id} promoting without lease`);
        if ((r.state === 'warm' || r.state === 'active') && r.lease !== undefined)
          violation(`sample: ${r.id} ${r.state} still leased`);
      }
      await new Promise((r) => setTimeout(r, 2));
    }
  })();

  const controller = async (index: number): Promise<void> => {
    const ctl = `ctl-${index}`;
    const store = stores[index]!;
    const rng = prng(index * 7919 + 17);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)]!;
    let claims = 0;
    let instances = 0;
    const newId = () => `${ctl}-i${++instances}`;
    const count = (op: string) => {
      stats.ops[op] = (stats.ops[op] ?? 0) + 1;
    };
    const jiggle = async () => {
      const r = rng();
      if (r < 0.2) await new Promise((res) => setImmediate(res));
      else if (r < 0.25) await new Promise((res) => setTimeout(res, 1));
    };

    /** A transition that must succeed (the instance is ours under our lease); logged. */
    const move = async (id: string, req: TransitionRequest, op: string): Promise<InstanceRecord> => {
      const from = typeof req.from === 'string' ? req.from : req.from[0]!;
      try {
        const res = await store.transition(POOL, id, req);
        if (!res.changed) violation(`${ctl} ${op} ${id}: ${from} → ${req.to} answered unchanged`);
        else logChange(res.record, from, ctl, op);
        if (rng() < 0.15) {
          // The same step again (a retry after a lost reply). While the instance stays under our lease (an
          // in-flight state, or failed, which only its owner moves on) nobody else can have moved it: the
          // same record, nothing changed. Once it is warm or active, others may already have taken it on;
          // then the retry is refused, or (moved away and back) answers unchanged at a later version.
          stats.transitionRetries++;
          const ours = req.to !== 'warm' && req.to !== 'active';
          try {
            const again = await store.transition(POOL, id, req);
            if (
              again.changed ||
              again.record.state !== req.to ||
              (ours ? again.record.version !== res.record.version : again.record.version < res.record.version)
            )
              violation(
                `${ctl} ${op} ${id}: retried ${from} → ${req.to} answered changed=${again.changed} ${again.record.state} v${again.record.version} after v${res.record.version}`,
              );
          } catch (err) {
            if (ours || !lostRace(err))
              violation(`${ctl} ${op} ${id}: retried ${from} → ${req.to}: ${String(err)}`);
            else stats.lostRaces++;
          }
        }
        return res.record;
      } catch (err) {
        violation(`${ctl} ${op} ${id}: ${from} → ${req.to} refused: ${String(err)}`);
        throw err;
      }
    };

    const removeOurs = async (id: string, op: string) => {
      const gone = await store.remove(POOL, id);
      if (!gone) violation(`${ctl} ${op} ${id}: remove found nothing`);
      else if (removedIds.has(id)) violation(`${ctl} ${op} ${id}: removed twice`);
      removedIds.add(id);
      stats.removed++;
      if (rng() < 0.2 && (await store.remove(POOL, id)))
        violation(`${ctl} ${op} ${id}: second remove removed`);
    };

    const insert = async (purpose: 'warm' | 'active', claimId?: string): Promise<InstanceRecord> => {
      const id = newId();
      const rec = await store.insert({
        id,
        pool: POOL,
        host: pick(HOSTS),
        warmState: 'paused',
        purpose,
        generation: 1,
        owner: ctl,
        leaseMs: LEASE_MS,
        ...(claimId === undefined ? {} : { claimId }),
      });
      if (rec.id !== id || rec.state !== 'booting' || rec.version !== 1 || rec.purpose !== purpose)
        violation(`${ctl} insert ${id}: got ${JSON.stringify(rec)}`);
      logChange(rec, 'none', ctl, `insert-${purpose}`);
      return rec;
    };

    /** Claims hands out: each must be free of any other live claim. */
    const takeHold = (claim: Claim) => {
      stats.freshClaims++;
      stats.claimedInstances += claim.instances.length;
      stats.coldSlots += claim.coldSlots;
      for (const rec of claim.instances) {
        const held = holders.get(rec.id);
        if (held !== undefined) violation(`${rec.id} handed out by ${claim.claimId} while held by ${held}`);
        holders.set(rec.id, claim.claimId);
        if (rec.state !== 'promoting' || rec.lease?.owner !== ctl)
          violation(`${claim.claimId}: ${rec.id} handed out as ${rec.state} leased to ${rec.lease?.owner}`);
        logChange(rec, 'warm', ctl, 'claim');
      }
    };

    const sameAnswer = (a: Claim, b: Claim, what: string) => {
      const ids = (c: Claim) => c.instances.map((r) => r.id).join(',');
      if (ids(a) !== ids(b) || a.coldSlots !== b.coldSlots)
        violation(
          `${what} ${a.claimId}: [${ids(a)}]+${a.coldSlots} cold, retry [${ids(b)}]+${b.coldSlots} cold`,
        );
    };

    const promoteOp = async (duplicate: boolean) => {
      const claimId = `${ctl}-c${++claims}`;
      const short = !duplicate && rng() < 0.1;
      const want = 1 + Math.floor(rng() * 5);
      const req = {
        claimId,
        count: want,
        owner: ctl,
        leaseMs: LEASE_MS,
        maxServing: M,
        ttlMs: short ? SHORT_TTL_MS : LONG_TTL_MS,
      };
      let claim: Claim;
      if (duplicate) {
        // The same request delivered twice, to this controller and to another: one claim, one answer.
        stats.duplicateDeliveries++;
        const other = stores[(index + 1 + Math.floor(rng() * (CONTROLLERS - 1))) % CONTROLLERS]!;
        const [a, b] = await Promise.all([store.claimWarm(POOL, req), other.claimWarm(POOL, req)]);
        if (Number(a.fresh) + Number(b.fresh) !== 1)
          violation(`${claimId}: ${Number(a.fresh) + Number(b.fresh)} fresh answers to one request`);
        sameAnswer(a, b, 'duplicate');
        claim = a.fresh ? a : b;
      } else {
        claim = await store.claimWarm(POOL, req);
        if (!claim.fresh) violation(`${claimId}: a new claim id answered as a retry`);
      }
      if (short) stats.shortClaims++;
      if (claim.instances.length + claim.coldSlots < want) stats.boundedClaims++;
      if (claim.instances.length + claim.coldSlots > want)
        violation(`${claimId}: ${claim.instances.length} + ${claim.coldSlots} cold for ${want} asked`);
      takeHold(claim);
      if (!short && rng() < 0.3) {
        stats.claimRetries++;
        await jiggle();
        const again = await store.claimWarm(POOL, req);
        if (again.fresh) violation(`${claimId}: the retry claimed afresh`);
        sameAnswer(claim, again, 'retry');
      }

      // The warm part, in parallel as promote does.
      await Promise.all(
        claim.instances.map(async (rec) => {
          await jiggle();
          const r = rng();
          if (r < 0.85) {
            await move(rec.id, { from: 'promoting', to: 'active', owner: ctl }, 'promote');
          } else if (r < 0.93) {
            // The wake was never sent: back to the pool. Let go of the hold first.
            holders.delete(rec.id);
            await move(rec.id, { from: 'promoting', to: 'warm', owner: ctl }, 'unclaim');
          } else {
            await move(rec.id, { from: 'promoting', to: 'failed', owner: ctl }, 'wake-failed');
            await move(rec.id, { from: 'failed', to: 'deleting', owner: ctl, leaseMs: LEASE_MS }, 'retire');
            await removeOurs(rec.id, 'retire');
            holders.delete(rec.id);
          }
        }),
      );

      // The cold part: launch some of the slots, give the rest back. A short claim sometimes waits past a
      // tick of the clock first, so that its slots lapse under it.
      const slots = claim.coldSlots;
      if (short && slots > 0 && rng() < 0.5) await new Promise((r) => setTimeout(r, 2 * TICK_REAL_MS));
      const launch = Math.floor(rng() * (slots + 1));
      const booted: InstanceRecord[] = [];
      for (let i = 0; i < launch; i++) {
        await jiggle();
        let rec: InstanceRecord;
        try {
          rec = await insert('active', claimId);
        } catch (err) {
          if (short && isWarmpoolError(err, 'no_cold_slot')) {
            stats.coldRefusedLapsed++;
            continue;
          }
          violation(`${claimId}: cold launch ${i + 1}/${launch} of ${slots} slots refused: ${String(err)}`);
          continue;
        }
        stats.coldLaunched++;
        booted.push(rec);
        if (rng() < 0.25) {
          // The same insert again (a retry): the same record, and no second slot taken.
          stats.insertRetries++;
          const again = await store.insert({
            id: rec.id,
            pool: POOL,
            host: rec.host,
            warmState: 'paused',
            purpose: 'active',
            generation: 1,
            owner: ctl,
            leaseMs: LEASE_MS,
            claimId,
          });
          if (again.version !== 1 || again.state !== 'booting' || again.createdAt !== rec.createdAt)
            violation(`${claimId}: retried insert of ${rec.id} answered ${JSON.stringify(again)}`);
        }
      }
      if (launch < slots) {
        const give = slots - launch + (rng() < 0.3 ? 2 : 0);
        await store.releaseColdSlots(POOL, claimId, give);
        stats.coldReleased += slots - launch;
      }
      if (rng() < 0.3) {
        // Past the slots: refused, whatever was launched or given back.
        try {
          const extra = await insert('active', claimId);
          violation(`${claimId}: insert past ${slots} cold slots accepted (${extra.id})`);
        } catch (err) {
          if (isWarmpoolError(err, 'no_cold_slot')) stats.coldRefusedPastSlots++;
          else violation(`${claimId}: insert past the slots: ${String(err)}`);
        }
      }
      await Promise.all(
        booted.map(async (rec) => {
          await jiggle();
          await move(rec.id, { from: 'booting', to: 'active', owner: ctl }, 'cold-active');
        }),
      );
    };

    const demoteOp = async () => {
      const actives = (await store.list(POOL)).filter((r) => r.state === 'active');
      const n = Math.min(actives.length, 1 + Math.floor(rng() * 4));
      const chosen = new Set<InstanceRecord>();
      while (chosen.size < n) chosen.add(pick(actives));
      await Promise.all(
        [...chosen].map(async (rec) => {
          await jiggle();
          let returning: InstanceRecord;
          try {
            const res = await store.transition(POOL, rec.id, {
              from: 'active',
              to: 'returning',
              owner: ctl,
              leaseMs: LEASE_MS,
            });
            if (!res.changed) throw new Error(`active → returning of ${rec.id} answered unchanged`);
            logChange(res.record, 'active', ctl, 'demote');
            returning = res.record;
          } catch (err) {
            if (lostRace(err)) {
              stats.lostRaces++;
              return;
            }
            violation(`${ctl} demote ${rec.id}: ${String(err)}`);
            return;
          }
          await jiggle();
          if (rng() < 0.7) {
            holders.delete(returning.id);
            await move(returning.id, { from: 'returning', to: 'warm', owner: ctl }, 'returned');
          } else {
            await move(
              returning.id,
              { from: 'returning', to: 'deleting', owner: ctl, leaseMs: LEASE_MS },
              'scale-in',
            );
            await removeOurs(returning.id, 'scale-in');
            holders.delete(returning.id);
          }
        }),
      );
    };

    const refillOp = async () => {
      const recs = await store.list(POOL);
      const pending = recs.filter(
        (r) =>
          r.state === 'warm' ||
          r.state === 'warming' ||
          r.state === 'returning' ||
          (r.state === 'booting' && r.purpose === 'warm'),
      ).length;
      if (pending >= WARM_TARGET) return;
      const n = Math.min(WARM_TARGET - pending, 1 + Math.floor(rng() * 3));
      await Promise.all(
        Array.from({ length: n }, async () => {
          const rec = await insert('warm');
          await jiggle();
          await move(rec.id, { from: 'booting', to: 'warming', owner: ctl, leaseMs: LEASE_MS }, 'boot');
          await jiggle();
          await move(rec.id, { from: 'warming', to: 'warm', owner: ctl }, 'slept');
        }),
      );
    };

    const trimOp = async () => {
      const warm = (await store.list(POOL)).filter((r) => r.state === 'warm');
      if (warm.length === 0) return;
      const rec = pick(warm);
      await jiggle();
      try {
        const res = await store.transition(POOL, rec.id, {
          from: 'warm',
          to: 'deleting',
          owner: ctl,
          leaseMs: LEASE_MS,
        });
        if (!res.changed) throw new Error(`warm → deleting of ${rec.id} answered unchanged`);
        logChange(res.record, 'warm', ctl, 'trim');
      } catch (err) {
        // A claim (or another trim) took it first.
        if (lostRace(err)) stats.lostRaces++;
        else violation(`${ctl} trim ${rec.id}: ${String(err)}`);
        return;
      }
      await removeOurs(rec.id, 'trim');
    };

    /**
     * Tries to move on an instance another controller is working on (under its lease). Between two of its
     * operations a controller holds no lease itself, so the store must refuse it every time.
     */
    const stealOp = async () => {
      const NEXT: Partial<Record<InstanceState, InstanceState>> = {
        booting: 'active',
        warming: 'warm',
        promoting: 'active',
        returning: 'warm',
      };
      const leased = (await store.list(POOL)).filter(
        (r) => NEXT[r.state] !== undefined && r.lease !== undefined && r.lease.owner !== ctl,
      );
      if (leased.length === 0) return;
      const rec = pick(leased);
      try {
        const res = await store.transition(POOL, rec.id, {
          from: rec.state,
          to: NEXT[rec.state]!,
          owner: ctl,
        });
        // Its owner got it there first: a step found done answers unchanged (and moves nothing).
        if (res.changed)
          violation(
            `${ctl} moved ${rec.id} ${rec.state} → ${res.record.state} under ${rec.lease?.owner}'s lease`,
          );
        else stats.stealsRefused++;
      } catch (err) {
        if (lostRace(err)) stats.stealsRefused++;
        else violation(`${ctl} steal ${rec.id}: ${String(err)}`);
      }
    };

    for (let op = 0; op < OPS_PER_CONTROLLER; op++) {
      const r = rng();
      try {
        if (r < 0.3) {
          count('promote');
          await promoteOp(false);
        } else if (r < 0.36) {
          count('promote-duplicate');
          await promoteOp(true);
        } else if (r < 0.66) {
          count('demote');
          await demoteOp();
        } else if (r < 0.86) {
          count('refill');
          await refillOp();
        } else if (r < 0.92) {
          count('steal');
          await stealOp();
        } else {
          count('trim');
          await trimOp();
        }
      } catch (err) {
        // Already recorded as a violation where it was thrown; carry on so the others keep racing.
        if (!violations.some((v) => v.includes(String(err)))) violation(`${ctl}: ${String(err)}`);
      }
      await jiggle();
    }
  };

  try {
    await Promise.all(Array.from({ length: CONTROLLERS }, (_, i) => controller(i)));
    running = false;
    await Promise.all([ticker, samplerLoop]);

    expect(violations, `${label}: violations`).toEqual([]);

    // Every short claim has lapsed by now; the next claim purges them.
    await clock.advance(SHORT_TTL_MS + 1);
    const final = await checker.list(POOL);
    const serving = final.filter(isServing).length;
    expect(serving).toBeLessThanOrEqual(M);
    stats.maxServingSeen = Math.max(stats.maxServingSeen, serving);

    // Per instance: versions 1..n, a chain of changes, and the final record as its log says.
    const problems: string[] = [];
    const byId = new Map(final.map((r) => [r.id, r]));
    for (const rec of final) if (!changes.has(rec.id)) problems.push(`${rec.id}: in the store, never logged`);
    for (const [id, list] of changes) {
      list.sort((a, b) => a.version - b.version);
      list.forEach((c, i) => {
        if (c.version !== i + 1)
          problems.push(`${id}: change #${i + 1} has version ${c.version} (${c.op} by ${c.by})`);
        const prev = list[i - 1];
        const from = prev === undefined ? 'none' : prev.to;
        if (c.from !== from)
          problems.push(`${id}: v${c.version} ${c.op} went from ${c.from}, but v${i} left it ${from}`);
      });
      const last = list[list.length - 1]!;
      const rec = byId.get(id);
      if (removedIds.has(id)) {
        if (rec) problems.push(`${id}: removed, still in the store as ${rec.state} v${rec.version}`);
        if (last.to !== 'deleting') problems.push(`${id}: removed while ${last.to}`);
      } else if (!rec) {
        problems.push(`${id}: gone from the store, never removed (last ${last.to} v${last.version})`);
      } else if (rec.state !== last.to || rec.version !== list.length) {
        problems.push(`${id}: store says ${rec.state} v${rec.version}, its log ${last.to} v${list.length}`);
      }
    }
    expect(problems.slice(0, 30), `${label}: ${problems.length} per-instance problems`).toEqual([]);

    // Nothing left reserved: a claim for M gets exactly what is not serving, warm first.
    const warm = final.filter((r) => r.state === 'warm').length;
    const last = await checker.claimWarm(POOL, {
      claimId: 'final',
      count: M,
      owner: 'checker',
      leaseMs: LEASE_MS,
      maxServing: M,
      ttlMs: LONG_TTL_MS,
    });
    expect({ instances: last.instances.length, cold: last.coldSlots }).toEqual({
      instances: Math.min(M - serving, warm),
      cold: M - serving - Math.min(M - serving, warm),
    });

    expect(await runId(checker), 'the standalone Redis was restarted during the run').toBe(runIdBefore);
    // The run exercised what it claims to.
    expect(stats.freshClaims).toBeGreaterThan(500);
    expect(stats.coldLaunched).toBeGreaterThan(0);
    expect(stats.lostRaces).toBeGreaterThan(0);
    expect(stats.stealsRefused).toBeGreaterThan(0);
    expect(stats.samples).toBeGreaterThan(10);
    return stats;
  } finally {
    running = false;
    await Promise.allSettled([ticker, samplerLoop]);
    await checker.client
      .del(
        ...['inst', 'warm', 'serving', 'claims', 'claimexp', 'reserved', 'locks', 'state', 'seen'].map(
          (k) => `${prefix}{${POOL}}:${k}`,
        ),
      )
      .catch(() => undefined);
    await Promise.all(all.map((s) => s.close()));
  }
}

describe('redis store: eight controllers race on one pool', () => {
  it('standalone redis (REDIS_URL)', async () => {
    const started = Date.now();
    const stats = await raceOnePool(() => ({ url: required('REDIS_URL') }), 'standalone');
    console.log(`race standalone: ${Date.now() - started} ms`, JSON.stringify(stats));
  }, 90_000);

  it('redis cluster (REDIS_CLUSTER_NODES)', async () => {
    const started = Date.now();
    const stats = await raceOnePool(
      () => ({ clusterNodes: required('REDIS_CLUSTER_NODES').split(',') }),
      'cluster',
    );
    console.log(`race cluster: ${Date.now() - started} ms`, JSON.stringify(stats));
  }, 90_000);
});
