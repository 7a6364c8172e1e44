/**
 * bench:decide: how long warmpool takes to decide for many pools (DESIGN: 1,000 pools × 100 hosts in under
 * 100 ms), wall clock, in three figures:
 * - `decide`: the decision itself for every pool, as the controller makes it each interval (count the
 *   pool's instances per host, target tracking and scale-in hold, the forecaster and the calibrated warm
 *   policy, the warm target spread over the hosts: `decidePool`), with states that have learnt 14 days of
 *   one-minute demand (a daily wave with noise); each pool holds 2 instances in service on every host and
 *   the warm targets of its last decision (its refills landed);
 * - `stateJsonUs`: what a store adds per pool and decision: the state written and read back as JSON;
 * - `round`: a whole round of the Controller on the in-memory store (read the state, the intervals and the
 *   records; decide; write; start what the decision asks), with states only as old as the run and demand
 *   equal to what serves, so that no pool scales and every refill finds its targets met.
 *
 *   npm run bench:decide [-- --pools 1000] [--hosts 100] [--rounds 20] [--json]
 *
 * The last line printed is one JSON object (with --json, the only line).
 */
import { VirtualClock } from '../lib/clock/index.js';
import { parseConfig } from '../lib/config/index.js';
import { Controller, decidePool, type PoolPolicyState } from '../lib/controller/index.js';
import type { InstanceRecord, PoolSpec } from '../lib/domain/index.js';
import { MemoryEventSink } from '../lib/events/index.js';
import { silentLogger } from '../lib/log/index.js';
import { predictivePolicy } from '../lib/policy/index.js';
import { countPool } from '../lib/pool/index.js';
import { SimCloud } from '../lib/providers/sim/index.js';
import { MemoryStore } from '../lib/store/index.js';
import { benchArgs } from './args.js';

const {
  json,
  ints: { pools, hosts, rounds },
} = benchArgs('bench:decide', { pools: { default: 1000 }, hosts: { default: 100 }, rounds: { default: 20 } });
const progress = (msg: string) => process.stderr.write(`bench:decide: ${msg}\n`);

const STEP_MS = 60_000;
const ACTIVE_PER_HOST = 2;
const hostNames = Array.from({ length: hosts }, (_, i) => `host-${String(i + 1).padStart(3, '0')}`);
const loaded = parseConfig(
  {
    providers: { sim: { kind: 'sim', hosts: hostNames, capacityPerHost: 16, seed: 1 } },
    pools: Array.from({ length: pools }, (_, i) => ({
      name: `pool-${String(i + 1).padStart(4, '0')}`,
      provider: 'sim',
      template: { params: { image: 'ubuntu-22.04', flavor: 'm1.small' } },
      warm: { state: 'paused', perHost: { min: 0, target: 1, max: 3 }, hosts: hostNames },
      active: { min: 0, max: 4 * hosts },
      capacity: { metric: 'load', perInstance: 1, intervalSeconds: STEP_MS / 1000 },
    })),
  },
  'bench:decide',
);

const clock = new VirtualClock(Date.UTC(2026, 0, 1));
const store = new MemoryStore(clock);
const controller = new Controller({
  pools: loaded.pools,
  providers: new Map([
    ['sim', new SimCloud({ clock, hosts: hostNames.map((name) => ({ name, capacity: 16 })) })],
  ]),
  store,
  clock,
  events: new MemoryEventSink(),
  log: silentLogger(),
  owner: 'bench',
});

// The pools as a refill and a promotion would have left them, written straight into the store.
let records = 0;
for (const spec of loaded.pools) {
  for (const host of hostNames) {
    for (let k = 0; k <= ACTIVE_PER_HOST; k++) {
      const id = `${spec.name}-${host}-${k}`;
      const warm = k === ACTIVE_PER_HOST;
      await store.insert({
        id,
        pool: spec.name,
        host,
        warmState: 'paused',
        purpose: warm ? 'warm' : 'active',
        generation: spec.template.generation,
        owner: 'bench',
        leaseMs: 60_000,
      });
      if (warm) {
        await store.transition(spec.name, id, {
          from: 'booting',
          to: 'warming',
          owner: 'bench',
          leaseMs: 60_000,
        });
        await store.transition(spec.name, id, { from: 'warming', to: 'warm', owner: 'bench' });
      } else {
        await store.transition(spec.name, id, { from: 'booting', to: 'active', owner: 'bench' });
      }
      records++;
    }
  }
}
progress(`${pools} pools × ${hosts} hosts, ${records} instance records; ${rounds} rounds`);

// --- decide: the decision alone, on states that have learnt two weeks ---------------------------------------
const HISTORY_DAYS = 14;
const serving = ACTIVE_PER_HOST * hosts;
/** One-minute demand around what serves: a daily wave of ±10 % and noise, deterministic. */
const demandAt = (row: number, phase: number) =>
  Math.round(serving * (1 + 0.1 * Math.sin((2 * Math.PI * (row + phase)) / 1440)) + ((row * 7919) % 11) - 5);
const stats = (v: number, at: number) => ({ count: 1, sum: v, max: v, last: v, lastTs: at });
const specs = loaded.pools;
/**
 * A pool's instances as its refills leave them: on each host, 2 in service and the warm target of the last
 * decision (the refill landed), from a bank of record objects made once per pool.
 */
type Bank = InstanceRecord[][];
const MAX_WARM_PER_HOST = 3;
function bankFor(spec: PoolSpec): Bank {
  return hostNames.map((host) =>
    Array.from({ length: ACTIVE_PER_HOST + MAX_WARM_PER_HOST }, (_, k) => ({
      id: `${spec.name}-${host}-${k}`,
      pool: spec.name,
      host,
      state: k < ACTIVE_PER_HOST ? ('active' as const) : ('warm' as const),
      warmState: 'paused' as const,
      purpose: k < ACTIVE_PER_HOST ? ('active' as const) : ('warm' as const),
      generation: spec.template.generation,
      createdAt: 0,
      since: 0,
      version: 1,
    })),
  );
}
function instances(bank: Bank, targets: ReadonlyMap<string, number> | undefined): InstanceRecord[] {
  return bank.flatMap((host, i) => host.slice(0, ACTIVE_PER_HOST + (targets?.get(hostNames[i]!) ?? 1)));
}
const start = clock.now();
let trained: PoolPolicyState | undefined;
{
  const spec = specs[0]!;
  const warmPolicy = predictivePolicy(spec);
  const bank = bankFor(spec);
  let targets: ReadonlyMap<string, number> | undefined;
  for (let row = 1; row <= HISTORY_DAYS * 1440; row++) {
    const now = start - (HISTORY_DAYS * 1440 - row) * STEP_MS;
    const closedAt = now - STEP_MS;
    const d = decidePool({
      spec,
      now,
      prev: trained,
      closedAt,
      closed: stats(demandAt(row - 1, 0), closedAt),
      open: undefined,
      breach: undefined,
      counts: countPool(spec, instances(bank, targets)),
      warmPolicy,
    });
    trained = d.next;
    targets = d.targets.launch;
  }
}
const stateJson = JSON.stringify(trained);
const states: Array<PoolPolicyState | undefined> = specs.map(() => JSON.parse(stateJson) as PoolPolicyState);
const policies = specs.map((spec) => predictivePolicy(spec));
progress(`state of a pool after ${HISTORY_DAYS} days: ${stateJson.length} bytes of JSON`);

const banks = specs.map((spec) => bankFor(spec));
const lastTargets: Array<ReadonlyMap<string, number> | undefined> = specs.map(() => undefined);
const decideMs: number[] = [];
let extraSum = 0;
for (let r = 1; r <= rounds; r++) {
  const now = start + r * STEP_MS;
  const closedAt = now - STEP_MS;
  const lists = specs.map((_, i) => instances(banks[i]!, lastTargets[i]));
  const started = performance.now();
  for (let i = 0; i < specs.length; i++) {
    const spec = specs[i]!;
    const d = decidePool({
      spec,
      now,
      prev: states[i],
      closedAt,
      closed: stats(demandAt(HISTORY_DAYS * 1440 + r, i), closedAt),
      open: undefined,
      breach: undefined,
      counts: countPool(spec, lists[i]!),
      warmPolicy: policies[i]!,
    });
    states[i] = d.next;
    lastTargets[i] = d.targets.launch;
    extraSum += d.extra.launch;
  }
  decideMs.push(performance.now() - started);
}
const jsonStarted = performance.now();
for (const st of states) JSON.parse(JSON.stringify(st));
const stateJsonUs = ((performance.now() - jsonStarted) * 1000) / states.length;

// --- round: the Controller on the in-memory store --------------------------------------------------------------
const roundMs: number[] = [];
await clock.run(async () => {
  for (let r = 0; r < rounds; r++) {
    // The interval that just closed: demand equal to what serves, so no pool scales and the round is the
    // decision alone.
    const closed = Math.floor(clock.now() / STEP_MS) * STEP_MS;
    for (const spec of loaded.pools) {
      await store.mergeInterval(
        spec.name,
        'load',
        closed,
        { count: 1, sum: serving, max: serving, last: serving, lastTs: closed },
        3_600_000,
      );
    }
    await clock.sleep(STEP_MS);
    const started = performance.now();
    await controller.tick();
    await controller.idle();
    roundMs.push(performance.now() - started);
  }
});
await controller.stop();

const status = await controller.status();
const changed = status.filter((s) => s.active !== ACTIVE_PER_HOST * hosts || s.warm !== hosts).length;
if (changed > 0) throw new Error(`${changed} pools scaled during the bench; it measures decisions alone`);

const round1 = (n: number) => Math.round(n * 10) / 10;
/** The median and the largest of the rounds after the first (which pays for compiling the code paths). */
function summary(ms: readonly number[]) {
  const later = ms.slice(1).sort((a, b) => a - b);
  return {
    firstMs: round1(ms[0]!),
    p50Ms: round1(later[Math.floor(later.length / 2)] ?? Number.NaN),
    maxMs: round1(later[later.length - 1] ?? Number.NaN),
  };
}
const result = {
  pools,
  hosts,
  records,
  rounds,
  stateBytes: stateJson.length,
  meanExtra: round1(extraSum / (rounds * pools)),
  decide: summary(decideMs),
  stateJsonUs: round1(stateJsonUs),
  round: summary(roundMs),
  targetMs: 100,
};
if (!json) {
  const line = (name: string, r: ReturnType<typeof summary>) =>
    `${name}: first ${r.firstMs} ms, then p50 ${r.p50Ms} ms, max ${r.maxMs} ms\n`;
  process.stdout.write(
    `${pools} pools × ${hosts} hosts, ${records} instance records, ${rounds} rounds\n` +
      line('decide (the decision alone)', result.decide) +
      `state as JSON, written and read: ${result.stateJsonUs} µs a pool (${stateJson.length} bytes)\n` +
      line('round (Controller, in-memory store)', result.round),
  );
}
process.stdout.write(`${JSON.stringify(result)}\n`);
