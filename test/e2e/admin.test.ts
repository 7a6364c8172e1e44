/**
 * The admin API and the commands built on it, end to end. The API: the embedded default (simulated cloud,
 * in-memory store, no synthetic stream) on a virtual clock, in process, through its real HTTP server; time
 * moves only when a test advances the clock. The commands: `node bin/warmpool.js …` as an operator runs it,
 * against a runtime in this process on a sped-up wall clock.
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { VirtualClock } from '../../lib/clock/index.js';
import { embeddedConfig, type LoadedConfig, parseConfig } from '../../lib/config/index.js';
import { silentLogger } from '../../lib/log/index.js';
import { adminCommand, type Runtime, startRuntime } from '../../lib/runtime/index.js';

const TOKEN = 'admin-token-4f9c2e7b1d';
const START = Date.parse('2030-01-01T00:00:00Z');

const count = z.int().nonnegative();
const HostSchema = z.looseObject({ name: z.string(), warm: count, active: count, booting: count });
const OverrideSchema = z.strictObject({
  warmPerHost: count.optional(),
  min: count.optional(),
  max: count.optional(),
});
const AdminPoolSchema = z.looseObject({
  name: z.string(),
  desired: count,
  active: count,
  warm: count,
  booting: count,
  warmTarget: count,
  hosts: z.array(HostSchema).min(1),
  override: OverrideSchema,
  holds: z.record(z.string(), count),
});
const AdminPoolsSchema = z.strictObject({ pools: z.array(AdminPoolSchema).min(1) });
type AdminPools = z.infer<typeof AdminPoolsSchema>;
type AdminPoolView = z.infer<typeof AdminPoolSchema>;
const ErrorSchema = z.looseObject({ error: z.string().min(1), problems: z.array(z.string()) });

let clock: VirtualClock | undefined;
let runtime: Runtime | undefined;
let loaded: LoadedConfig;

/** The embedded default with no synthetic stream, the admin API on unless `token` is null. */
async function start(token: string | null = TOKEN): Promise<Runtime> {
  clock = new VirtualClock(START);
  loaded = parseConfig(embeddedConfig(), 'embedded default');
  runtime = await startRuntime({
    loaded,
    log: silentLogger(),
    port: 0,
    clock,
    synthetic: false,
    env: token === null ? {} : { WARMPOOL_ADMIN_TOKEN: token },
  });
  return runtime;
}

async function stopRuntime(): Promise<void> {
  const rt = runtime;
  const c = clock;
  runtime = undefined;
  clock = undefined;
  if (!rt) return;
  let done = false;
  const stopping = rt.stop().finally(() => {
    done = true;
  });
  // Work in flight waits on the virtual clock: keep time moving until stop settles.
  for (let i = 0; c && i < 6000 && !done; i++) await c.advance(100);
  await stopping;
}

afterEach(stopRuntime);

function virtual(): VirtualClock {
  if (!clock) throw new Error('no virtual clock: start() first');
  return clock;
}

/** Advances the virtual clock `seconds`, one second at a time; stops early once `until` holds. */
async function advance(seconds: number, until?: () => Promise<boolean>): Promise<boolean> {
  for (let s = 0; s < seconds; s++) {
    await virtual().advance(1000);
    if (until && (await until())) return true;
  }
  return until === undefined;
}

interface Answer {
  status: number;
  json: unknown;
  headers: Headers;
}

async function call(
  rt: Runtime,
  method: string,
  path: string,
  options: { body?: unknown; raw?: string; auth?: string | null } = {},
): Promise<Answer> {
  const headers: Record<string, string> = {};
  const auth = options.auth === undefined ? `Bearer ${TOKEN}` : options.auth;
  if (auth !== null) headers.authorization = auth;
  let body: string | undefined = options.raw;
  if (options.body !== undefined) body = JSON.stringify(options.body);
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${rt.url}${path}`, { method, headers, ...(body === undefined ? {} : { body }) });
  const text = await res.text();
  return {
    status: res.status,
    json: text === '' ? undefined : (JSON.parse(text) as unknown),
    headers: res.headers,
  };
}

async function adminPools(rt: Runtime): Promise<AdminPools> {
  const res = await call(rt, 'GET', '/admin/pools');
  expect(res.status).toBe(200);
  return AdminPoolsSchema.parse(res.json);
}

async function poolView(rt: Runtime, name: string): Promise<AdminPoolView> {
  const p = (await adminPools(rt)).pools.find((x) => x.name === name);
  if (!p) throw new Error(`no pool ${name}`);
  return p;
}

/** GET /status, the public view the admin changes must show up in. */
async function status(rt: Runtime, name: string) {
  const res = await fetch(`${rt.url}/status`);
  expect(res.status).toBe(200);
  const body = z
    .looseObject({ pools: z.array(AdminPoolSchema.omit({ override: true, holds: true })) })
    .parse(await res.json());
  const p = body.pools.find((x) => x.name === name);
  if (!p) throw new Error(`no pool ${name} in /status`);
  return p;
}

function spec(name: string) {
  const s = loaded.pools.find((p) => p.name === name);
  if (!s) throw new Error(`no pool ${name} in the config`);
  return s;
}

const configuredWarm = (name: string) => spec(name).hosts.reduce((n, h) => n + h.target, 0);

/** Waits (virtual time) until every host of every pool holds its configured warm target. */
async function filled(rt: Runtime): Promise<void> {
  const ok = await advance(300, async () => {
    const { pools } = await adminPools(rt);
    return pools.every((p) =>
      p.hosts.every((h) => h.warm === spec(p.name).hosts.find((b) => b.name === h.name)?.target),
    );
  });
  expect(ok, 'every host at its configured warm target').toBe(true);
}

const ROUTES: Array<[string, string, unknown]> = [
  ['GET', '/admin/pools', undefined],
  ['PUT', '/admin/pools/web/override', { warmPerHost: 3 }],
  ['DELETE', '/admin/pools/web/override', undefined],
  ['POST', '/admin/pools/web/promote', { count: 2 }],
  ['GET', '/admin/no-such-route', undefined],
];

describe('admin API: authentication', () => {
  it('answers every /admin route with 403 when no token is configured, and the rest of the server works', async () => {
    for (const token of [null, '']) {
      const rt = await start(token);
      for (const [method, path, body] of ROUTES) {
        for (const auth of [null, `Bearer ${TOKEN}`, 'Bearer ']) {
          const res = await call(rt, method, path, { body, auth });
          expect(res.status, `${method} ${path} with ${auth}`).toBe(403);
          expect(ErrorSchema.parse(res.json).error).toBe('admin API disabled: set WARMPOOL_ADMIN_TOKEN');
        }
      }
      expect((await status(rt, 'web')).desired).toBe(spec('web').bounds.minActive);
      await virtual().advance(2000);
      const web = await status(rt, 'web');
      expect(web.desired).toBe(spec('web').bounds.minActive);
      expect(web.warmTarget).toBe(configuredWarm('web'));
      await stopRuntime();
    }
  });

  it('answers a missing or wrong token with 401 and changes nothing; the right one passes', async () => {
    const rt = await start();
    await advance(2);
    const before = await adminPools(rt);
    const wrong = [
      null,
      '',
      'Bearer',
      'Bearer ',
      TOKEN,
      `Basic ${Buffer.from(`admin:${TOKEN}`).toString('base64')}`,
      'Bearer wrong',
      // Same length, one character off: the timing-safe comparison of equal-length digests.
      `Bearer ${TOKEN.slice(0, -1)}${TOKEN.endsWith('x') ? 'y' : 'x'}`,
      // A prefix and an extension of the token.
      `Bearer ${TOKEN.slice(0, -1)}`,
      `Bearer ${TOKEN}0`,
      `Bearer ${TOKEN} ${TOKEN}`,
    ];
    for (const auth of wrong) {
      for (const [method, path, body] of ROUTES) {
        const res = await call(rt, method, path, { body, auth });
        expect(res.status, `${method} ${path} with ${JSON.stringify(auth)}`).toBe(401);
        expect(res.headers.get('www-authenticate')).toMatch(/^Bearer /);
        const error = ErrorSchema.parse(res.json).error;
        expect(error).toMatch(/token/);
        expect(error).not.toContain(TOKEN);
      }
    }
    expect(await adminPools(rt)).toEqual(before);
    // Nothing is pending either: one more decision round moves nothing.
    await advance(1);
    for (const p of (await adminPools(rt)).pools) {
      expect(p.desired, p.name).toBe(spec(p.name).bounds.minActive);
      expect(p.override).toEqual({});
      expect(p.holds).toEqual({});
    }
    // The scheme is case-insensitive (RFC 9110), the token is not.
    expect((await call(rt, 'GET', '/admin/pools', { auth: `bearer ${TOKEN}` })).status).toBe(200);
    expect((await call(rt, 'GET', '/admin/pools', { auth: `Bearer ${TOKEN.toUpperCase()}` })).status).toBe(
      401,
    );
  });
});

describe('admin API: routes', () => {
  it('GET /admin/pools: every pool as /status shows it, with its override and holds', async () => {
    const rt = await start();
    await advance(3);
    const { pools } = await adminPools(rt);
    const res = await fetch(`${rt.url}/status`);
    const plain = z
      .looseObject({ pools: z.array(z.looseObject({ name: z.string() })) })
      .parse(await res.json());
    expect(pools.map((p) => p.name)).toEqual(loaded.pools.map((p) => p.name));
    for (const [i, p] of pools.entries()) {
      expect({ ...p, override: undefined, holds: undefined }).toEqual({
        ...plain.pools[i],
        override: undefined,
        holds: undefined,
      });
      expect(p.override).toEqual({});
      expect(p.holds).toEqual({});
    }
  });

  it('override warmPerHost raises every host warm target and the refill follows; clear restores', async () => {
    const rt = await start();
    await filled(rt);
    const hosts = spec('web').hosts.length;
    expect((await status(rt, 'web')).warmTarget).toBe(configuredWarm('web'));

    const set = await call(rt, 'PUT', '/admin/pools/web/override', { body: { warmPerHost: 3 } });
    expect(set.status).toBe(200);
    expect(set.json).toEqual({ override: { warmPerHost: 3 } });
    // Decided at once, before any tick.
    expect((await status(rt, 'web')).warmTarget).toBe(3 * hosts);
    expect((await status(rt, 'batch')).warmTarget).toBe(configuredWarm('batch'));
    expect((await poolView(rt, 'web')).override).toEqual({ warmPerHost: 3 });

    // The refill follows: every host of web ends up holding 3 warm instances; batch is untouched.
    const refilled = await advance(300, async () =>
      (await status(rt, 'web')).hosts.every((h) => h.warm === 3),
    );
    expect(refilled, `web hosts: ${JSON.stringify((await status(rt, 'web')).hosts)}`).toBe(true);
    const web = await status(rt, 'web');
    expect(web.warm).toBe(3 * hosts);
    expect((await status(rt, 'batch')).warm).toBe(configuredWarm('batch'));

    const cleared = await call(rt, 'DELETE', '/admin/pools/web/override');
    expect(cleared.status).toBe(204);
    expect(cleared.json).toBeUndefined();
    expect((await status(rt, 'web')).warmTarget).toBe(configuredWarm('web'));
    expect((await poolView(rt, 'web')).override).toEqual({});
    // Back to the configured targets: the hosts are trimmed to them.
    const trimmed = await advance(300, async () =>
      (await status(rt, 'web')).hosts.every((h) => h.warm === 2 && h.booting === 0),
    );
    expect(trimmed, `web hosts: ${JSON.stringify((await status(rt, 'web')).hosts)}`).toBe(true);
  });

  it('min raises desired, max caps it, promote raises it by count, clear restores after the stabilisation window', async () => {
    const rt = await start();
    await filled(rt);
    const minActive = spec('web').bounds.minActive;
    expect((await status(rt, 'web')).desired).toBe(minActive);

    const min = await call(rt, 'PUT', '/admin/pools/web/override', { body: { min: 6 } });
    expect(min.status).toBe(200);
    expect(min.json).toEqual({ override: { min: 6 } });
    expect((await status(rt, 'web')).desired).toBe(6);
    // Served from the warm pool: active follows within a few seconds of wake latency.
    expect(await advance(5, async () => (await status(rt, 'web')).active === 6)).toBe(true);

    const promote = await call(rt, 'POST', '/admin/pools/web/promote', { body: { count: 3 } });
    expect(promote.status).toBe(202);
    expect(promote.json).toMatchObject({ desired: 9 });
    expect((await status(rt, 'web')).desired).toBe(9);
    expect((await poolView(rt, 'web')).holds).toEqual({ manual: 9 });
    expect(await advance(5, async () => (await status(rt, 'web')).active === 9)).toBe(true);

    // Fields merge: max joins min, and caps what a promotion asks for.
    const max = await call(rt, 'PUT', '/admin/pools/web/override', { body: { max: 10 } });
    expect(max.json).toEqual({ override: { min: 6, max: 10 } });
    const more = await call(rt, 'POST', '/admin/pools/web/promote', { body: { count: 5 } });
    expect(more.status).toBe(202);
    expect(more.json).toMatchObject({ desired: 10 });
    expect((await status(rt, 'web')).desired).toBe(10);

    const cleared = await call(rt, 'DELETE', '/admin/pools/web/override');
    expect(cleared.status).toBe(204);
    const after = await poolView(rt, 'web');
    expect(after.override).toEqual({});
    expect(after.holds).toEqual({});
    // Scale-in follows the pool's policy: once the stabilisation window has passed, desired is back.
    const windowS = spec('web').scaleIn.stabilisationMs / 1000;
    expect((await status(rt, 'web')).desired).toBe(10);
    await virtual().advance((windowS - 5) * 1000);
    expect((await status(rt, 'web')).desired).toBe(10);
    expect(await advance(10, async () => (await status(rt, 'web')).desired === minActive)).toBe(true);
    // And the pool scales in to it: instances go back to the warm pool.
    expect(await advance(30, async () => (await status(rt, 'web')).active === minActive)).toBe(true);
  });

  it('refuses bad bodies with 400, one line per problem naming the field, and changes nothing', async () => {
    const rt = await start();
    await advance(2);
    const before = await adminPools(rt);
    const cases: Array<[string, string, string, RegExp[]]> = [
      ['PUT', 'override', '{"warmPerHost": 1.5}', [/^warmPerHost: must be a whole number \(got 1\.5\)$/]],
      ['PUT', 'override', '{"min": -1}', [/^min: must be >= 0 \(got -1\)$/]],
      ['PUT', 'override', '{"max": "3"}', [/^max: must be a number \(got "3"\)$/]],
      ['PUT', 'override', '{}', [/^body: give at least one of warmPerHost, min, max$/]],
      ['PUT', 'override', '{"min": 5, "max": 3}', [/^max: must be >= min \(got 3 < 5\)$/]],
      [
        'PUT',
        'override',
        '{"min": -1, "warmPerHost": 2.5, "mix": 1}',
        [
          /^min: must be >= 0/,
          /^warmPerHost: must be a whole number/,
          /^mix: unknown key \(known keys: warmPerHost, min, max\)$/,
        ],
      ],
      ['PUT', 'override', '[]', [/^body: must be a map \(got a list\)$/]],
      ['PUT', 'override', 'null', [/^body: must be a map \(got null\)$/]],
      ['POST', 'promote', '{"count": 0}', [/^count: must be > 0 \(got 0\)$/]],
      ['POST', 'promote', '{"count": 2.5}', [/^count: must be a whole number \(got 2\.5\)$/]],
      ['POST', 'promote', '{}', [/^count: required$/]],
      ['POST', 'promote', '{"count": 1, "pool": "web"}', [/^pool: unknown key/]],
    ];
    for (const [method, action, raw, expected] of cases) {
      const res = await call(rt, method, `/admin/pools/web/${action}`, { raw });
      expect(res.status, raw).toBe(400);
      const { problems } = ErrorSchema.parse(res.json);
      expect(problems, raw).toHaveLength(expected.length);
      for (const pattern of expected) {
        expect(
          problems.some((p) => pattern.test(p)),
          `${raw}: ${problems.join(' | ')} ~ ${pattern}`,
        ).toBe(true);
      }
    }
    for (const [method, action] of [
      ['PUT', 'override'],
      ['POST', 'promote'],
    ] as const) {
      for (const raw of ['{"min":', 'not json', '', '{"count": 1,}']) {
        const res = await call(rt, method, `/admin/pools/web/${action}`, { raw });
        expect(res.status, `${action} ${JSON.stringify(raw)}`).toBe(400);
        expect(ErrorSchema.parse(res.json).error).toMatch(/^body is not valid JSON/);
      }
    }
    expect(await adminPools(rt)).toEqual(before);
    await advance(1);
    for (const p of (await adminPools(rt)).pools) {
      expect(p.desired, p.name).toBe(spec(p.name).bounds.minActive);
      expect(p.warmTarget, p.name).toBe(configuredWarm(p.name));
      expect(p.override).toEqual({});
      expect(p.holds).toEqual({});
    }
  });

  it('refuses an override that would leave min above the max in force, naming the field', async () => {
    const rt = await start();
    await advance(1);
    expect((await call(rt, 'PUT', '/admin/pools/web/override', { body: { max: 3 } })).status).toBe(200);
    const res = await call(rt, 'PUT', '/admin/pools/web/override', { body: { min: 5 } });
    expect(res.status).toBe(400);
    expect(ErrorSchema.parse(res.json).problems).toEqual([
      expect.stringMatching(/^min: must be <= max in force \(got 5 > 3\)/),
    ]);
    expect((await poolView(rt, 'web')).override).toEqual({ max: 3 });
    // Both at once replace both.
    const both = await call(rt, 'PUT', '/admin/pools/web/override', { body: { min: 5, max: 8 } });
    expect(both.json).toEqual({ override: { min: 5, max: 8 } });
    expect((await status(rt, 'web')).desired).toBe(5);
  });

  it('answers an unknown pool with 404 naming it, an unknown route with 404, a wrong method with 405', async () => {
    const rt = await start();
    await advance(1);
    const before = await adminPools(rt);
    for (const [method, action, body] of [
      ['PUT', 'override', { min: 3 }],
      ['DELETE', 'override', undefined],
      ['POST', 'promote', { count: 1 }],
    ] as const) {
      const res = await call(rt, method, `/admin/pools/no-such-pool/${action}`, { body });
      expect(res.status, `${method} ${action}`).toBe(404);
      const err = ErrorSchema.parse(res.json);
      expect(err.error).toBe('unknown pool "no-such-pool"');
      expect(err.problems).toEqual(['known pools: web, batch']);
    }
    for (const path of [
      '/admin/',
      '/admin/pools/web',
      '/admin/pools/web/scale',
      '/admin/pools/web/override/x',
    ]) {
      expect((await call(rt, 'GET', path)).status, path).toBe(404);
    }
    for (const [method, path] of [
      ['POST', '/admin/pools'],
      ['GET', '/admin/pools/web/override'],
      ['PATCH', '/admin/pools/web/override'],
      ['GET', '/admin/pools/web/promote'],
    ] as const) {
      const res = await call(rt, method, path);
      expect(res.status, `${method} ${path}`).toBe(405);
      expect(ErrorSchema.parse(res.json).error).toMatch(/not allowed/);
    }
    expect(await adminPools(rt)).toEqual(before);
  });
});

describe('admin API: properties', () => {
  const methods = fc.constantFrom('GET', 'PUT', 'POST', 'DELETE', 'PATCH', 'OPTIONS');
  const paths = fc.oneof(
    fc.constantFrom(
      '/admin/pools',
      '/admin/pools/web/override',
      '/admin/pools/batch/override',
      '/admin/pools/web/promote',
      '/admin/pools/batch/promote',
      '/admin/pools/nope/override',
      '/admin/pools/%E0%A4%A/promote',
      '/admin/pools//override',
      '/admin/',
    ),
    fc
      .tuple(fc.constantFrom('web', 'batch', 'x', ''), fc.constantFrom('override', 'promote', '', 'x'))
      .map(([pool, action]) => `/admin/pools/${pool}/${action}`),
    fc.string({ maxLength: 20 }).map((s) => `/admin/${encodeURIComponent(s)}`),
  );
  const field = fc.oneof(
    fc.integer({ min: -3, max: 12 }),
    fc.double(),
    fc.string({ maxLength: 5 }),
    fc.constant(null),
    fc.boolean(),
  );
  const bodies = fc.oneof(
    fc.constant(undefined),
    fc.string({ maxLength: 30 }),
    fc.json({ maxDepth: 2 }),
    fc
      .record({ warmPerHost: field, min: field, max: field, extra: field }, { requiredKeys: [] })
      .map((o) => JSON.stringify(o)),
    fc.record({ count: field }, { requiredKeys: [] }).map((o) => JSON.stringify(o)),
  );
  // Header values fetch can send: printable ASCII.
  const printable = fc.string({
    unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
    maxLength: 40,
  });
  const wrongAuth = fc.oneof(
    fc.constant(null),
    printable,
    printable.map((s) => `Bearer ${s}`),
    fc.constantFrom(
      TOKEN,
      `Bearer ${TOKEN.slice(0, -1)}`,
      `Bearer ${TOKEN}x`,
      `Basic ${TOKEN}`,
      `Bearer ${TOKEN.toUpperCase()}`,
      `Token ${TOKEN}`,
    ),
  );
  const send = (rt: Runtime, method: string, path: string, raw: string | undefined, auth: string | null) =>
    call(rt, method, path, { raw: method === 'GET' ? undefined : raw, auth });

  it('without the right token, any request to any admin route gets 401 and changes nothing', async () => {
    const rt = await start();
    await advance(2);
    const before = await adminPools(rt);
    await fc.assert(
      fc.asyncProperty(methods, paths, bodies, wrongAuth, async (method, path, raw, auth) => {
        fc.pre(auth === null || !new RegExp(`^bearer\\s+${TOKEN}\\s*$`, 'i').test(auth));
        const res = await send(rt, method, path, raw, auth);
        expect(res.status).toBe(401);
        expect(await adminPools(rt)).toEqual(before);
      }),
      { numRuns: 150 },
    );
  });

  it('with the right token, no request to an admin route gets a 5xx, and a refused one changes nothing', async () => {
    const rt = await start();
    await advance(2);
    await fc.assert(
      fc.asyncProperty(methods, paths, bodies, async (method, path, raw) => {
        const before = await adminPools(rt);
        const res = await send(rt, method, path, raw, `Bearer ${TOKEN}`);
        expect(res.status).toBeLessThan(500);
        if (res.status >= 400) {
          ErrorSchema.parse(res.json);
          expect(await adminPools(rt)).toEqual(before);
        }
      }),
      { numRuns: 150 },
    );
  });
});

// ---------------------------------------------------------------------------------------------------------
// the commands

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = join(ROOT, 'bin', 'warmpool.js');

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `warmpool …` to its end, with no WARMPOOL, REDIS or KAFKA setting of this process. */
function cli(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  const clean: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('WARMPOOL') && !k.startsWith('REDIS_') && !k.startsWith('KAFKA_')) clean[k] = v;
  }
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: ROOT,
      env: { ...clean, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => {
      stdout += s;
    });
    child.stderr.setEncoding('utf8').on('data', (s: string) => {
      stderr += s;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The embedded default on the wall clock, its simulated cloud 50 times faster: a cold boot takes ~1 s. */
async function startWall(): Promise<Runtime> {
  loaded = parseConfig(embeddedConfig(), 'embedded default', { WARMPOOL__providers__sim__speed: '50' });
  runtime = await startRuntime({
    loaded,
    log: silentLogger(),
    port: 0,
    synthetic: false,
    env: { WARMPOOL_ADMIN_TOKEN: TOKEN },
  });
  return runtime;
}

async function until<T>(ms: number, what: string, check: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const found = await check();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Waits until nothing moves: every host at its warm target, nothing booting, active = desired. */
async function settled(rt: Runtime): Promise<AdminPools> {
  return until(15_000, 'the pools to settle', async () => {
    const s = await adminPools(rt);
    const still = s.pools.every(
      (p) =>
        p.booting === 0 &&
        p.active === p.desired &&
        p.hosts.every(
          (h) =>
            h.warm === (p.override.warmPerHost ?? spec(p.name).hosts.find((b) => b.name === h.name)?.target),
        ),
    );
    return still ? s : undefined;
  });
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** The host rows of each block of `warmpool pools`, checked for alignment with their header. */
function parseTable(
  text: string,
): Map<string, { head: string; hosts: Array<[string, number, number, number]> }> {
  const blocks = new Map<string, { head: string; hosts: Array<[string, number, number, number]> }>();
  for (const block of text.trimEnd().split('\n\n')) {
    const [head, header, ...rows] = block.split('\n');
    const name = head?.match(/^pool (\S+): /)?.[1];
    if (!name || !header) throw new Error(`not a pool block:\n${block}`);
    expect(header).toMatch(/^ {2}HOST +WARM +ACTIVE +BOOTING$/);
    // Right-aligned numbers end where their header ends; every row is as long as the header.
    const ends = ['WARM', 'ACTIVE', 'BOOTING'].map((h) => header.indexOf(h) + h.length);
    const hosts = rows.map((row): [string, number, number, number] => {
      expect(row.length, row).toBe(header.length);
      const cells = row.trim().split(/ +/);
      expect(cells).toHaveLength(4);
      for (const [i, end] of ends.entries())
        expect(row.slice(0, end).endsWith(cells[i + 1]!), row).toBe(true);
      return [cells[0]!, Number(cells[1]), Number(cells[2]), Number(cells[3])];
    });
    blocks.set(name, { head, hosts });
  }
  return blocks;
}

describe('warmpool pools | pool | promote', () => {
  it('prints the pools as a table and as JSON, and sets, promotes and clears by hand', async () => {
    const rt = await startWall();
    const flags = ['--url', rt.url, '--token', TOKEN];
    const stable = await settled(rt);

    const [table, json] = await Promise.all([cli(['pools', ...flags]), cli(['pools', '--json', ...flags])]);
    expect(table.stderr).toBe('');
    expect(table.code).toBe(0);
    const blocks = parseTable(table.stdout);
    expect([...blocks.keys()]).toEqual(['web', 'batch']);
    for (const p of stable.pools) {
      const block = blocks.get(p.name)!;
      expect(block.head).toBe(
        `pool ${p.name}: desired ${p.desired}, active ${p.active}, warm ${p.warm}, booting ${p.booting}, override none`,
      );
      expect(block.hosts).toEqual(p.hosts.map((h) => [h.name, h.warm, h.active, h.booting]));
    }
    expect(json.code).toBe(0);
    expect(AdminPoolsSchema.parse(JSON.parse(json.stdout))).toEqual(stable);

    const set = await cli(['pool', 'set', 'web', '--warm-per-host', '3', '--min', '4', ...flags]);
    expect(set).toEqual({ code: 0, stdout: 'web: override warmPerHost=3 min=4\n', stderr: '' });
    const overridden = await poolView(rt, 'web');
    expect(overridden.override).toEqual({ warmPerHost: 3, min: 4 });
    expect(overridden.desired).toBe(4);
    expect(overridden.warmTarget).toBe(3 * spec('web').hosts.length);

    // URL and token from the environment this time.
    const promote = await cli(['promote', 'web', '2'], { WARMPOOL_URL: rt.url, WARMPOOL_ADMIN_TOKEN: TOKEN });
    expect(promote).toEqual({ code: 0, stdout: 'web: promoting 2, desired 6\n', stderr: '' });
    expect((await poolView(rt, 'web')).desired).toBe(6);

    const after = await settled(rt);
    const shown = parseTable((await cli(['pools', ...flags])).stdout).get('web')!;
    const web = after.pools.find((p) => p.name === 'web')!;
    expect(shown.head).toBe(
      `pool web: desired 6, active 6, warm ${web.warm}, booting 0, override warmPerHost=3 min=4, holds manual=6`,
    );
    expect(shown.hosts.every(([, warm]) => warm === 3)).toBe(true);

    const clear = await cli(['pool', 'clear', 'web', ...flags]);
    expect(clear).toEqual({ code: 0, stdout: 'web: override cleared\n', stderr: '' });
    const cleared = await poolView(rt, 'web');
    expect(cleared.override).toEqual({});
    expect(cleared.holds).toEqual({});
    expect(cleared.warmTarget).toBe(configuredWarm('web'));
  }, 60_000);

  it('says what went wrong: exit 1 for a refusal or no controller, exit 2 for bad flags', async () => {
    const rt = await startWall();
    const closed = `http://127.0.0.1:${await freePort()}`;
    const [wrongToken, noToken, unknownPool, badValue, nobody] = await Promise.all([
      cli(['pools', '--url', rt.url, '--token', 'not-the-token']),
      cli(['pool', 'set', 'web', '--min', '3', '--url', rt.url]),
      cli(['promote', 'nope', '2', '--url', rt.url, '--token', TOKEN]),
      cli(['pool', 'set', 'web', '--min', '9', '--max', '3', '--url', rt.url, '--token', TOKEN]),
      cli(['pools', '--url', closed, '--token', TOKEN]),
    ]);
    expect(wrongToken.code).toBe(1);
    expect(wrongToken.stdout).toBe('');
    expect(wrongToken.stderr).toMatch(/^warmpool pools: missing or wrong admin token/);
    expect(wrongToken.stderr).not.toContain('not-the-token');
    expect(noToken.code).toBe(1);
    expect(noToken.stderr).toMatch(/missing or wrong admin token/);
    expect(unknownPool.code).toBe(1);
    expect(unknownPool.stderr).toBe('warmpool promote: unknown pool "nope"\n  known pools: web, batch\n');
    expect(badValue.code).toBe(1);
    expect(badValue.stderr).toBe('warmpool pool: invalid override\n  max: must be >= min (got 3 < 9)\n');
    expect(nobody.code).toBe(1);
    expect(nobody.stderr).toBe(`warmpool pools: no controller at ${closed} (is \`warmpool run\` running?)\n`);
    // Nothing was changed by any of them.
    for (const p of (await adminPools(rt)).pools) {
      expect(p.override).toEqual({});
      expect(p.holds).toEqual({});
      expect(p.desired).toBe(spec(p.name).bounds.minActive);
    }

    // A usage error, through the real command: exit 2 and the usage.
    const usage = await cli(['promote', 'web', '0', '--url', rt.url, '--token', TOKEN]);
    expect(usage.code).toBe(2);
    expect(usage.stdout).toBe('');
    expect(usage.stderr).toMatch(
      /^warmpool promote: <count> must be a whole number >= 1 \(got "0"\)\n\nusage: warmpool <command>/,
    );
    expect((await poolView(rt, 'web')).desired).toBe(spec('web').bounds.minActive);
  }, 60_000);

  it('refuses bad flags with exit 2 and the usage, before sending anything', async () => {
    const io = (env: NodeJS.ProcessEnv = {}) => {
      const out = { stdout: '', stderr: '' };
      return {
        out,
        io: {
          env,
          stdout: (text: string) => {
            out.stdout += text;
          },
          stderr: (text: string) => {
            out.stderr += text;
          },
          usage: 'USAGE\n',
        },
      };
    };
    const cases: Array<['pools' | 'pool' | 'promote', string[], RegExp]> = [
      ['pools', ['--bogus'], /Unknown option '--bogus'/],
      ['pools', ['extra'], /unexpected argument "extra"/],
      ['pools', ['--url', 'ftp://x'], /--url must be an http\(s\) URL \(got "ftp:\/\/x"\)/],
      ['pool', [], /say set or clear/],
      ['pool', ['resize', 'web'], /unknown action "resize" \(set or clear\)/],
      ['pool', ['set'], /name the pool: warmpool pool set <name>/],
      ['pool', ['set', 'web'], /give at least one of --warm-per-host, --min, --max/],
      ['pool', ['set', 'web', '--min', 'three'], /--min must be a whole number >= 0 \(got "three"\)/],
      [
        'pool',
        ['set', 'web', '--warm-per-host=-1'],
        /--warm-per-host must be a whole number >= 0 \(got "-1"\)/,
      ],
      ['pool', ['set', 'web', '--max', '2.5'], /--max must be a whole number >= 0 \(got "2\.5"\)/],
      ['pool', ['clear', 'web', '--min', '3'], /pool clear takes no --warm-per-host, --min or --max/],
      ['promote', ['web'], /usage: warmpool promote <name> <count>/],
      ['promote', ['web', '0'], /<count> must be a whole number >= 1 \(got "0"\)/],
      ['promote', ['web', '3', '4'], /unexpected argument "4"/],
      ['promote', ['web', '1e3'], /<count> must be a whole number >= 1 \(got "1e3"\)/],
    ];
    for (const [command, args, message] of cases) {
      // A URL where nothing listens: a usage error must be found before any request.
      const { out, io: commandIo } = io({ WARMPOOL_URL: 'http://127.0.0.1:9' });
      const code = await adminCommand(command, args, commandIo);
      expect(code, `${command} ${args.join(' ')}: ${out.stderr}`).toBe(2);
      expect(out.stdout).toBe('');
      expect(out.stderr).toMatch(message);
      expect(out.stderr.startsWith(`warmpool ${command}: `)).toBe(true);
      expect(out.stderr.endsWith('\n\nUSAGE\n')).toBe(true);
    }
  });
});
