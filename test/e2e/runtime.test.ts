/**
 * The local runtime end to end, in process: the embedded default (simulated cloud, in-memory store) on a
 * virtual clock, queried through its real HTTP server. Time moves only when a test advances the clock, one
 * virtual second at a time, and every HTTP request happens between two advances.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { VirtualClock } from '../../lib/clock/index.js';
import { embeddedConfig, type LoadedConfig, parseConfig } from '../../lib/config/index.js';
import { silentLogger } from '../../lib/log/index.js';
import { MAX_BODY_BYTES, type Runtime, startRuntime } from '../../lib/runtime/index.js';

const count = z.int().nonnegative();
const HostSchema = z.looseObject({ name: z.string().min(1), warm: count, active: count, booting: count });
const PoolSchema = z.looseObject({
  name: z.string().min(1),
  desired: count,
  active: count,
  warm: count,
  booting: count,
  // Beyond the core shape: what these tests read to check the burst.
  serving: count,
  promotions: z.looseObject({ warmHits: count, coldMisses: count }),
  hosts: z.array(HostSchema).min(1),
});
const StatusSchema = z.looseObject({ pools: z.array(PoolSchema).min(1) });
type Status = z.infer<typeof StatusSchema>;
type PoolView = z.infer<typeof PoolSchema>;

const ErrorSchema = z.looseObject({ error: z.string().min(1), problems: z.array(z.string()).optional() });

/** The embedded default's synthetic period, and where its burst starts (50 % of it). */
const PERIOD_S = 300;
const BURST_S = PERIOD_S / 2;

const START = Date.parse('2030-01-01T00:00:00Z');

let clock: VirtualClock;
let runtime: Runtime | undefined;
let loaded: LoadedConfig;

async function start(synthetic: boolean): Promise<Runtime> {
  clock = new VirtualClock(START);
  loaded = parseConfig(embeddedConfig(), 'embedded default');
  runtime = await startRuntime({ loaded, log: silentLogger(), port: 0, clock, synthetic });
  return runtime;
}

afterEach(async () => {
  const rt = runtime;
  runtime = undefined;
  if (!rt) return;
  // Work in flight waits on the virtual clock (the sim's API latency): keep time moving until stop settles.
  let done = false;
  const stopping = rt.stop().finally(() => {
    done = true;
  });
  for (let i = 0; i < 6000 && !done; i++) await clock.advance(100);
  await stopping;
});

/** Advances the virtual clock one second at a time; `each` runs between two advances. */
async function advance(seconds: number, each?: (second: number) => Promise<boolean | undefined>) {
  for (let s = 1; s <= seconds; s++) {
    await clock.advance(1000);
    if (each && (await each(s))) return s;
  }
  return undefined;
}

async function getStatus(rt: Runtime): Promise<Status> {
  const res = await fetch(`${rt.url}/status`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe('application/json');
  const status = StatusSchema.parse(await res.json());
  for (const pool of status.pools) {
    // The pool's counts are its hosts' counts added up.
    for (const key of ['warm', 'active', 'booting'] as const) {
      expect(pool[key], `${pool.name}.${key}`).toBe(pool.hosts.reduce((n, h) => n + h[key], 0));
    }
  }
  return status;
}

function pool(status: Status, name: string): PoolView {
  const p = status.pools.find((x) => x.name === name);
  if (!p) throw new Error(`no pool ${name} in ${JSON.stringify(status.pools.map((x) => x.name))}`);
  return p;
}

function spec(name: string) {
  const s = loaded.pools.find((p) => p.name === name);
  if (!s) throw new Error(`no pool ${name} in the config`);
  return s;
}

const warmTarget = (name: string) => spec(name).hosts.reduce((n, h) => n + h.target, 0);

function burstDesired(name: string): number {
  const { bounds } = spec(name);
  const peak = Math.min(bounds.maxActive, bounds.minActive + Math.ceil(warmTarget(name) * 1.6));
  return Math.ceil(0.9 * peak - 1e-9);
}

async function post(rt: Runtime, body: string | Uint8Array, path = '/metrics') {
  const res = await fetch(`${rt.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
  });
  const text = await res.text();
  return {
    status: res.status,
    contentType: res.headers.get('content-type'),
    json: JSON.parse(text) as unknown,
  };
}

describe('runtime: embedded default with the synthetic stream, on a virtual clock', () => {
  it('serves GET /status in the documented shape, and starts booting every host toward its warm target', async () => {
    const rt = await start(true);
    expect(rt.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const health = await fetch(`${rt.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ ok: true });

    const first = await getStatus(rt);
    expect(first.pools.map((p) => p.name)).toEqual(loaded.pools.map((p) => p.name));
    for (const p of first.pools) {
      expect(p.hosts.map((h) => h.name)).toEqual(spec(p.name).hosts.map((h) => h.name));
      expect(p.desired).toBe(spec(p.name).bounds.minActive);
      expect(p.warm).toBe(0);
    }

    await advance(5);
    const booting = await getStatus(rt);
    for (const p of booting.pools) {
      // A cold boot takes tens of seconds: after 5 s nothing is warm yet, but every host has its launches.
      expect(p.warm, p.name).toBe(0);
      for (const h of p.hosts) {
        const bounds = spec(p.name).hosts.find((b) => b.name === h.name)!;
        expect(h.booting, `${p.name}/${h.name}`).toBeGreaterThanOrEqual(bounds.target);
        expect(h.booting, `${p.name}/${h.name}`).toBeLessThanOrEqual(bounds.max);
      }
      expect(p.booting).toBeGreaterThanOrEqual(warmTarget(p.name));
    }
  });

  it('after a few virtual minutes the hosts hold warm instances, within their bounds', async () => {
    const rt = await start(true);
    await advance(BURST_S - 10);
    const status = await getStatus(rt);
    for (const p of status.pools) {
      expect(p.warm, p.name).toBeGreaterThan(0);
      const holding = p.hosts.filter((h) => h.warm > 0).length;
      // Most hosts, not one: the pool spreads over its hosts.
      expect(holding, `${p.name}: hosts holding warm`).toBeGreaterThanOrEqual(Math.ceil(p.hosts.length / 2));
      for (const h of p.hosts) {
        const bounds = spec(p.name).hosts.find((b) => b.name === h.name)!;
        expect(h.warm, `${p.name}/${h.name}`).toBeLessThanOrEqual(bounds.max);
      }
      expect(p.warm).toBeLessThanOrEqual(spec(p.name).bounds.maxWarm);
    }
  });

  it('serves the synthetic burst from the warm pool at once, then refills the warm pool', async () => {
    const rt = await start(true);
    await advance(BURST_S - 1);
    const before = await getStatus(rt);
    for (const p of before.pools) expect(p.warm, `${p.name} warm before the burst`).toBeGreaterThan(0);

    // The burst lands within a second or two of virtual time.
    let during: Status | undefined;
    const at = await advance(3, async () => {
      const s = await getStatus(rt);
      if (pool(s, 'web').desired < burstDesired('web')) return false;
      during = s;
      return true;
    });
    expect(at, 'the burst moved desired').toBeDefined();
    if (!during) throw new Error('unreachable');

    for (const name of ['web', 'batch']) {
      const b = pool(before, name);
      const d = pool(during, name);
      // The burst is the pool's synthetic peak: its active minimum plus 1.6 times its warm target, 90 % loaded
      // (lib/signals/synthetic.ts); target tracking serves it with ceil(0.9 × peak) instances.
      expect(d.desired, `${name}: desired at the burst`).toBe(burstDesired(name));
      expect(d.desired - b.desired, `${name}: desired jumps`).toBeGreaterThanOrEqual(4);
      // The warm pool is claimed at once, as much of it as the burst needs.
      expect(d.warm, `${name}: warm falls`).toBeLessThanOrEqual(
        b.warm - Math.min(b.warm, d.desired - b.serving),
      );
    }

    // Waking takes one wake latency, far below a cold launch (~48 s): an unpause (web) well under a second,
    // a resume from suspended (batch) about 9 s. Then each claimed instance counts as a warm hit and is active.
    const wakeSeconds: Record<string, number> = { web: 1, batch: 12 };
    for (const name of ['web', 'batch']) {
      const b = pool(before, name);
      const claimed = Math.min(b.warm, pool(during, name).desired - b.serving);
      expect(claimed, name).toBeGreaterThan(0);
      let last = b;
      const woken = await advance(wakeSeconds[name]!, async () => {
        last = pool(await getStatus(rt), name);
        return (
          last.promotions.warmHits - b.promotions.warmHits >= claimed && last.active - b.active >= claimed
        );
      });
      expect(
        woken,
        `${name}: ${claimed} warm hits and active +${claimed} within ${wakeSeconds[name]} s; got ` +
          `${last.promotions.warmHits - b.promotions.warmHits} hits, active +${last.active - b.active}`,
      ).toBeDefined();
    }
    // The warm pool served most of the burst: more warm hits than cold misses.
    const after = await getStatus(rt);
    for (const name of ['web', 'batch']) {
      expect(pool(after, name).promotions.warmHits - pool(before, name).promotions.warmHits).toBeGreaterThan(
        pool(after, name).promotions.coldMisses - pool(before, name).promotions.coldMisses,
      );
    }

    // Refill, off the critical path: the warm pool is back at its target within a few virtual minutes.
    const refilled = new Set<string>();
    await advance(180, async () => {
      const s = await getStatus(rt);
      for (const p of s.pools) if (p.warm >= warmTarget(p.name)) refilled.add(p.name);
      return refilled.size === s.pools.length;
    });
    expect([...refilled].sort()).toEqual(['batch', 'web']);
  });
});

describe('runtime: POST /metrics', () => {
  const sample = (pool: string, value: number, extra: Record<string, unknown> = {}) => ({
    pool,
    metric: spec(pool).capacity.metric,
    value,
    ts: clock.now(),
    ...extra,
  });

  /** Status, and after one more decision round the desired counts: bad input must move neither. */
  async function expectUntouched(rt: Runtime, before: Status) {
    expect(await getStatus(rt)).toEqual(before);
    await advance(1);
    const after = await getStatus(rt);
    for (const p of after.pools) expect(p.desired, p.name).toBe(spec(p.name).bounds.minActive);
  }

  it('accepts a good sample with 202, and a burst is acted on at once, before any tick', async () => {
    const rt = await start(false);
    await advance(2);
    expect(pool(await getStatus(rt), 'web').desired).toBe(2);

    // 1250 requests/s at 100 per instance: 13 instances.
    const res = await post(rt, JSON.stringify(sample('web', 1250)));
    expect(res.status).toBe(202);
    expect(res.contentType).toBe('application/json');
    expect(res.json).toEqual({ accepted: 1 });
    // It asks for more than serves: decided at once, with no tick and the interval still open.
    const status = await getStatus(rt);
    expect(pool(status, 'web').desired).toBe(13);
    expect(pool(status, 'batch').desired).toBe(1);

    // A batch of samples, one RFC 3339 timestamp among them.
    const batch = await post(
      rt,
      JSON.stringify([
        sample('batch', 400, { ts: new Date(clock.now()).toISOString() }),
        sample('web', 100, { metric: 'not_the_capacity_metric' }),
      ]),
    );
    expect(batch).toMatchObject({ status: 202, json: { accepted: 2 } });
    const next = await getStatus(rt);
    // 400 queued at 50 per instance: 8; a sample of another metric is ignored, and web keeps its last value.
    expect(pool(next, 'batch').desired).toBe(8);
    expect(pool(next, 'web').desired).toBe(13);
  });

  it('refuses bad JSON with 400 and changes nothing', async () => {
    const rt = await start(false);
    await advance(1);
    const before = await getStatus(rt);
    for (const body of ['{"pool":', 'not json', '', '{"pool":"web",}']) {
      const res = await post(rt, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(ErrorSchema.parse(res.json).error).toMatch(/JSON/);
    }
    await expectUntouched(rt, before);
  });

  it('refuses a sample missing value with 400 naming the field, and applies nothing of a mixed batch', async () => {
    const rt = await start(false);
    await advance(1);
    const before = await getStatus(rt);

    const { value: _value, ...noValue } = sample('web', 5000);
    const res = await post(rt, JSON.stringify(noValue));
    expect(res.status).toBe(400);
    const problems = ErrorSchema.parse(res.json).problems ?? [];
    expect(
      problems.some((p) => p.startsWith('value:')),
      problems.join('\n'),
    ).toBe(true);
    expect(problems).toHaveLength(1);

    const wrong = await post(rt, JSON.stringify({ ...sample('web', 5000), value: 'lots', extra: 1 }));
    expect(wrong.status).toBe(400);
    const wrongProblems = ErrorSchema.parse(wrong.json).problems ?? [];
    expect(wrongProblems.some((p) => p.startsWith('value:'))).toBe(true);
    expect(wrongProblems.some((p) => p.includes('extra'))).toBe(true);

    // One bad sample refuses the whole request: the good one beside it is not applied either.
    const mixed = await post(rt, JSON.stringify([sample('web', 5000), noValue]));
    expect(mixed.status).toBe(400);
    expect(ErrorSchema.parse(mixed.json).problems?.some((p) => p.startsWith('[1].value:'))).toBe(true);

    await expectUntouched(rt, before);
  });

  it('refuses a sample for an unknown pool with 404 naming the pool', async () => {
    const rt = await start(false);
    await advance(1);
    const before = await getStatus(rt);
    const res = await post(rt, JSON.stringify({ ...sample('web', 5000), pool: 'no-such-pool' }));
    expect(res.status).toBe(404);
    const body = ErrorSchema.parse(res.json);
    expect(body.problems?.join('\n')).toContain('"no-such-pool"');

    // Beside a good sample, still refused as a whole (and still 404: the request itself was well formed).
    const mixed = await post(
      rt,
      JSON.stringify([sample('web', 5000), { ...sample('web', 1), pool: 'nope' }]),
    );
    expect(mixed.status).toBe(404);
    expect(ErrorSchema.parse(mixed.json).problems?.join('\n')).toContain('"nope"');
    await expectUntouched(rt, before);
  });

  it('refuses a body over 1 MiB with 413, declared or streamed', async () => {
    const rt = await start(false);
    await advance(1);
    const before = await getStatus(rt);
    // A valid JSON array of good samples, only too long: the size alone refuses it.
    const one = JSON.stringify(sample('web', 5000));
    const big = `[${Array.from({ length: Math.ceil(MAX_BODY_BYTES / one.length) + 1 }, () => one).join(',')}]`;
    expect(Buffer.byteLength(big)).toBeGreaterThan(MAX_BODY_BYTES);

    const declared = await post(rt, big);
    expect(declared.status).toBe(413);
    expect(ErrorSchema.parse(declared.json).error).toMatch(/larger than/);

    // No content-length (chunked): the server counts as it reads.
    const bytes = new TextEncoder().encode(big);
    const chunk = 64 * 1024;
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < bytes.length; i += chunk) controller.enqueue(bytes.subarray(i, i + chunk));
        controller.close();
      },
    });
    const res = await fetch(`${rt.url}/metrics`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: stream,
      duplex: 'half',
    } as RequestInit & { duplex: 'half' });
    expect(res.status).toBe(413);
    expect(ErrorSchema.parse(await res.json()).error).toMatch(/larger than/);

    // Exactly at the limit is fine as far as size goes (this one is then not JSON).
    const atLimit = await post(rt, ' '.repeat(MAX_BODY_BYTES));
    expect(atLimit.status).toBe(400);

    await expectUntouched(rt, before);
  });

  it('answers a wrong method with 405 and an unknown path with 404', async () => {
    const rt = await start(false);
    await advance(1);
    const before = await getStatus(rt);
    const cases: [string, string, number][] = [
      ['GET', '/metrics', 405],
      ['PUT', '/metrics', 405],
      ['POST', '/status', 405],
      ['DELETE', '/healthz', 405],
      ['GET', '/', 404],
      ['GET', '/nope', 404],
      ['POST', '/metrics/extra', 404],
    ];
    for (const [method, path, expected] of cases) {
      const res = await fetch(`${rt.url}${path}`, {
        method,
        ...(method === 'GET' ? {} : { body: JSON.stringify(sample('web', 5000)) }),
      });
      expect(res.status, `${method} ${path}`).toBe(expected);
      expect(ErrorSchema.parse(await res.json()).error).toContain(path);
    }
    await expectUntouched(rt, before);
  });

  it('never answers arbitrary bodies with a 5xx, and never changes state on them', async () => {
    const rt = await start(false);
    await advance(1);
    const before = await getStatus(rt);
    const pools = ['web', 'batch', 'nope', '', 'WEB'];
    // Near misses: sample-like objects whose `ts` is missing or invalid, whatever the other fields hold.
    const nearMiss = fc.record(
      {
        pool: fc.oneof(fc.constantFrom(...pools), fc.integer(), fc.constant(null)),
        metric: fc.oneof(fc.constantFrom('requests_per_s', 'queue_depth', ''), fc.string(), fc.boolean()),
        value: fc.oneof(fc.constant('100'), fc.constant(null), fc.double(), fc.object()),
        ts: fc.oneof(fc.integer({ min: -1000, max: -1 }), fc.string(), fc.double({ noInteger: true })),
        extra: fc.jsonValue(),
      },
      { requiredKeys: [] },
    );
    const body = fc.oneof(
      fc.string({ unit: 'binary' }),
      fc.jsonValue().map((v) => JSON.stringify(v)),
      fc.array(fc.oneof(nearMiss, fc.jsonValue()), { maxLength: 5 }).map((a) => JSON.stringify(a)),
      nearMiss.map((s) => JSON.stringify(s)),
      fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a)),
    );
    await fc.assert(
      fc.asyncProperty(body, async (b) => {
        const res = await post(rt, b);
        expect(res.status).toBeLessThan(500);
        expect([202, 400, 404]).toContain(res.status);
        expect(res.contentType).toBe('application/json');
        if (res.status === 202) expect(res.json).toEqual({ accepted: 0 });
        else expect(ErrorSchema.safeParse(res.json).success).toBe(true);
        expect(await getStatus(rt)).toEqual(before);
      }),
      { numRuns: 150 },
    );
    await expectUntouched(rt, before);
  });
});
