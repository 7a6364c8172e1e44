/**
 * bench:store: promotion claims per second on a real Redis, with eight controllers on separate
 * connections claiming from one pool at once, and a check that no instance is ever claimed twice.
 *
 *   npm run bench:store -- [--controllers 8] [--claims 20000] [--warm 200] [--json]
 *
 * Uses the Redis that REDIS_URL names; when unset, starts one with infra/redis/up and stops it after.
 * Each controller loops: claim one warm instance (the promotion's atomic step), mark it active, then hand
 * it back (active → returning → warm) so the pool never runs dry. The last line printed is one JSON object.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { SystemClock } from '../lib/clock/index.js';
import { createRedisStore, type RedisStore } from '../lib/store/index.js';
import { benchArgs } from './args.js';

const {
  json,
  ints: { controllers, claims: totalClaims, warm },
} = benchArgs('bench:store', {
  controllers: { default: 8 },
  claims: { default: 20_000 },
  warm: { default: 200 },
});
const say = (msg: string) => {
  if (!json) process.stderr.write(`${msg}\n`);
};

let started = false;
let url = process.env.REDIS_URL;
if (!url) {
  say('REDIS_URL unset: starting a Redis with infra/redis/up');
  execFileSync('bash', ['infra/redis/up', '--standalone-only'], { stdio: ['ignore', 'ignore', 'inherit'] });
  started = true;
  url = /REDIS_URL=(\S+)/.exec(readFileSync('.infra/redis/env', 'utf8'))?.[1];
  if (!url) throw new Error('infra/redis/up did not write REDIS_URL to .infra/redis/env');
}

const clock = new SystemClock();
const pool = `bench-${randomUUID().slice(0, 8)}`;
const prefix = 'warmpool-bench:';
const stores: RedisStore[] = Array.from({ length: controllers }, () =>
  createRedisStore({ clock, url, prefix }),
);

try {
  // Seed the pool: warm instances spread over 10 hosts.
  const seed = stores[0]!;
  for (let i = 0; i < warm; i++) {
    const id = `i-${i}`;
    await seed.insert({
      id,
      pool,
      host: `host-${i % 10}`,
      warmState: 'paused',
      purpose: 'warm',
      generation: 1,
      owner: 'seed',
      leaseMs: 60_000,
    });
    await seed.transition(pool, id, { from: 'booting', to: 'warming', owner: 'seed' });
    await seed.transition(pool, id, { from: 'warming', to: 'warm', owner: 'seed' });
  }
  say(
    `seeded ${warm} warm instances in pool ${pool}; ${controllers} controllers claiming ${totalClaims} times`,
  );

  const held = new Map<string, number>();
  const latencies: number[] = [];
  let doubleClaims = 0;
  let empty = 0;
  let issued = 0;

  const controller = async (n: number) => {
    const store = stores[n]!;
    const owner = `ctl-${n}`;
    while (issued < totalClaims) {
      issued++;
      const t0 = performance.now();
      const claim = await store.claimWarm(pool, {
        claimId: randomUUID(),
        count: 1,
        owner,
        leaseMs: 60_000,
        maxServing: warm,
        ttlMs: 60_000,
      });
      latencies.push(performance.now() - t0);
      const rec = claim.instances[0];
      if (!rec) {
        empty++;
        continue;
      }
      if (held.has(rec.id)) doubleClaims++;
      held.set(rec.id, n);
      await store.transition(pool, rec.id, { from: 'promoting', to: 'active', owner });
      await store.transition(pool, rec.id, { from: 'active', to: 'returning', owner, leaseMs: 60_000 });
      // Released before it can be claimed again: the next claim of it by anyone is legitimate.
      held.delete(rec.id);
      await store.transition(pool, rec.id, { from: 'returning', to: 'warm', owner });
    }
  };

  const t0 = performance.now();
  await Promise.all(Array.from({ length: controllers }, (_, n) => controller(n)));
  const seconds = (performance.now() - t0) / 1000;
  latencies.sort((a, b) => a - b);
  const q = (p: number) =>
    Math.round(latencies[Math.min(latencies.length - 1, Math.ceil(p * latencies.length) - 1)]! * 1000) / 1000;

  // The store must agree: everything handed back is warm again.
  const final = await seed.list(pool);
  const notWarm = final.filter((r) => r.state !== 'warm').length;
  if (notWarm > 0) throw new Error(`${notWarm} instances not back in warm at the end`);

  say(`${latencies.length} claims in ${seconds.toFixed(2)} s (${empty} found the pool empty)`);
  const result = {
    controllers,
    claims: latencies.length,
    claimsPerSec: Math.round(latencies.length / seconds),
    p50Ms: q(0.5),
    p99Ms: q(0.99),
    doubleClaims,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
  if (doubleClaims > 0) process.exitCode = 1;
} finally {
  await stores[0]!.client.del(
    ...['inst', 'warm', 'serving', 'claims', 'claimexp', 'reserved', 'locks', 'state', 'seen'].map(
      (k) => `${prefix}{${pool}}:${k}`,
    ),
  );
  await Promise.all(stores.map((s) => s.close()));
  // Stop only what this run started, not a Redis it found already up.
  if (started && readFileSync('.infra/redis/started', 'utf8').includes('standalone')) {
    execFileSync('bash', ['infra/redis/down', '--standalone-only'], { stdio: 'inherit' });
  }
}
