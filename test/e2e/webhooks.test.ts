/**
 * Webhooks from monitoring, end to end, in process: the embedded default (simulated cloud, in-memory store) on
 * a virtual clock, with the webhook secrets in the runtime's environment, over its real HTTP server. Each
 * payload kind drives its promotion; every refused request (credentials, size, JSON, payload, pool, method)
 * changes nothing; no secret ever appears in an answer or a log line.
 */
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { VirtualClock } from '../../lib/clock/index.js';
import {
  embeddedConfig,
  type LoadedConfig,
  parseConfig,
  type WarmpoolConfigInput,
} from '../../lib/config/index.js';
import { createLogger } from '../../lib/log/index.js';
import { type Runtime, startRuntime } from '../../lib/runtime/index.js';

// Distinctive, so that a leak cannot hide: neither may appear in any answer or log line.
const TOKEN = 'tok-5c1e9a7f3b2d4e6a8c0f';
const SECRET = 'sec-8b3d6f1a9e2c4b7d0a5e';
const ENV = { WARMPOOL_WEBHOOK_TOKEN: TOKEN, WARMPOOL_WEBHOOK_SECRET: SECRET };

const START = Date.parse('2030-01-01T00:00:00Z');
/** The embedded default's scale-in stabilisation window (scaleIn.stabilisationSeconds, default 300). */
const STABILISATION_S = 300;
const KINDS = ['alertmanager', 'grafana', 'generic'] as const;
type Kind = (typeof KINDS)[number];

const count = z.int().nonnegative();
const PoolSchema = z.looseObject({
  name: z.string().min(1),
  desired: count,
  active: count,
  warm: count,
  booting: count,
  serving: count,
  promotions: z.looseObject({ warmHits: count, coldMisses: count }),
});
const StatusSchema = z.looseObject({ pools: z.array(PoolSchema).min(1) });
type Status = z.infer<typeof StatusSchema>;
type PoolView = z.infer<typeof PoolSchema>;
const ErrorSchema = z.strictObject({ error: z.string().min(1), problems: z.array(z.string()) });
const DecisionsSchema = z.strictObject({
  decisions: z.array(
    z.strictObject({
      pool: z.string(),
      key: z.string(),
      action: z.enum(['hold_by', 'hold_desired', 'lower', 'release']),
      desired: count,
    }),
  ),
});

let clock: VirtualClock;
let runtime: Runtime | undefined;
let loaded: LoadedConfig;
/** Every answer of the server (status, headers, body) and every log line, checked for secrets after each test. */
let answered: string[] = [];
let logged: string[] = [];

async function start(
  options: { env?: NodeJS.ProcessEnv; webhooks?: WarmpoolConfigInput['webhooks'] } = {},
): Promise<Runtime> {
  clock = new VirtualClock(START);
  const raw = embeddedConfig();
  if (options.webhooks) raw.webhooks = options.webhooks;
  loaded = parseConfig(raw, 'embedded default');
  const log = createLogger({ level: 'debug', destination: { write: (line: string) => logged.push(line) } });
  runtime = await startRuntime({ loaded, log, port: 0, clock, synthetic: false, env: options.env ?? ENV });
  return runtime;
}

/** Stops the runtime. Work in flight waits on the virtual clock (the sim's API latency): time keeps moving. */
async function stopRuntime(): Promise<void> {
  const rt = runtime;
  runtime = undefined;
  if (!rt) return;
  let done = false;
  const stopping = rt.stop().finally(() => {
    done = true;
  });
  for (let i = 0; i < 6000 && !done; i++) await clock.advance(100);
  await stopping;
}

afterEach(async () => {
  await stopRuntime();
  const seen = [...answered, ...logged];
  answered = [];
  logged = [];
  for (const secret of [TOKEN, SECRET]) {
    const leak = seen.find((text) => text.includes(secret));
    expect(leak, 'a secret in an answer or a log line').toBeUndefined();
  }
});

function rt(): Runtime {
  if (!runtime) throw new Error('no runtime started');
  return runtime;
}

/** Advances the virtual clock one second at a time; stops early once `until` holds. Returns the seconds taken. */
async function advance(seconds: number, until?: () => Promise<boolean>): Promise<number | undefined> {
  for (let s = 1; s <= seconds; s++) {
    await clock.advance(1000);
    if (until && (await until())) return s;
  }
  return undefined;
}

async function getStatus(): Promise<Status> {
  const res = await fetch(`${rt().url}/status`);
  expect(res.status).toBe(200);
  return StatusSchema.parse(await res.json());
}

function pool(status: Status, name: string): PoolView {
  const p = status.pools.find((x) => x.name === name);
  if (!p) throw new Error(`no pool ${name}`);
  return p;
}

async function poolNow(name: string): Promise<PoolView> {
  return pool(await getStatus(), name);
}

const minActive = (name: string) => loaded.pools.find((p) => p.name === name)!.bounds.minActive;
const warmTarget = (name: string) =>
  loaded.pools.find((p) => p.name === name)!.hosts.reduce((n, h) => n + h.target, 0);

/** Until every pool serves its minimum and holds its whole warm target: a burst can then be served warm. */
async function fill(): Promise<Status> {
  const full = (s: Status) =>
    s.pools.every((p) => p.warm >= warmTarget(p.name) && p.active >= minActive(p.name) && p.booting === 0);
  const took = await advance(240, async () => full(await getStatus()));
  expect(took, 'the warm pools filled').toBeDefined();
  return getStatus();
}

/** What a request may change: every pool's counts and its policy state (desired, holds, override). */
async function snapshot() {
  const policies = await Promise.all(rt().controller.pools.map((p) => rt().controller.policy(p.name)));
  return { status: await getStatus(), policies };
}
type Snapshot = Awaited<ReturnType<typeof snapshot>>;

/** Nothing changed now, and one decision round later desired and holds are still as they were. */
async function expectUnchanged(before: Snapshot, what: string) {
  expect(await snapshot(), what).toEqual(before);
  await advance(1);
  const after = await snapshot();
  expect(after.policies, `${what}, a second later`).toEqual(before.policies);
  expect(
    after.status.pools.map((p) => p.desired),
    what,
  ).toEqual(before.status.pools.map((p) => p.desired));
}

interface Answer {
  status: number;
  text: string;
  json: unknown;
}

async function send(
  path: string,
  body: string | Uint8Array | undefined,
  headers: Record<string, string> = {},
  method = 'POST',
): Promise<Answer> {
  const res = await fetch(`${rt().url}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...headers },
    ...(body === undefined ? {} : { body }),
  });
  const text = await res.text();
  answered.push(`${res.status} ${JSON.stringify([...res.headers])} ${text}`);
  expect(res.headers.get('content-type'), `${method} ${path}`).toBe('application/json');
  return { status: res.status, text, json: JSON.parse(text) as unknown };
}

const hook = (kind: Kind, body: string | Uint8Array, headers: Record<string, string> = {}) =>
  send(`/webhooks/${kind}`, body, headers);

const bearer = (token = TOKEN) => ({ authorization: `Bearer ${token}` });

/** X-Warmpool-Signature over the raw body, timestamped on the runtime's clock unless told otherwise. */
function signed(body: string | Uint8Array, options: { t?: number; secret?: string } = {}) {
  const t = options.t ?? Math.floor(clock.now() / 1000);
  const v1 = createHmac('sha256', options.secret ?? SECRET)
    .update(`${t}.`)
    .update(body)
    .digest('hex');
  return { 'x-warmpool-signature': `t=${t},v1=${v1}` };
}

function decisions(answer: Answer) {
  expect(answer.status, answer.text).toBe(202);
  return DecisionsSchema.parse(answer.json).decisions;
}

function refusal(answer: Answer, status: number) {
  expect(answer.status, answer.text).toBe(status);
  return ErrorSchema.parse(answer.json);
}

const generic = (body: Record<string, unknown>) => JSON.stringify(body);

function alertmanager(
  alerts: { status: 'firing' | 'resolved'; labels: Record<string, string>; fingerprint: string }[],
) {
  return JSON.stringify({
    receiver: 'warmpool',
    status: alerts.some((a) => a.status === 'firing') ? 'firing' : 'resolved',
    alerts: alerts.map((a) => ({
      ...a,
      annotations: { summary: 'p99 latency above 500 ms' },
      startsAt: new Date(START).toISOString(),
      endsAt: a.status === 'firing' ? '0001-01-01T00:00:00Z' : new Date(clock.now()).toISOString(),
      generatorURL: 'http://prometheus:9090/graph?g0.expr=web_p99_seconds+%3E+0.5',
    })),
    groupLabels: { alertname: alerts[0]?.labels.alertname ?? '' },
    commonLabels: alerts[0]?.labels ?? {},
    commonAnnotations: {},
    externalURL: 'http://alertmanager:9093',
    version: '4',
    groupKey: '{}/{warmpool_pool=~".+"}:{alertname="WebLatencyHigh"}',
    truncatedAlerts: 0,
  });
}

function grafana(
  status: 'firing' | 'resolved',
  alerts: { labels: Record<string, string>; fingerprint: string; status?: 'firing' | 'resolved' }[],
) {
  return JSON.stringify({
    receiver: 'warmpool',
    status,
    orgId: 1,
    alerts: alerts.map((a) => ({
      status: a.status ?? status,
      labels: a.labels,
      annotations: { summary: 'saturation' },
      startsAt: new Date(START).toISOString(),
      endsAt: '0001-01-01T00:00:00Z',
      generatorURL: 'http://grafana:3000/alerting/grafana/fe2k1m/view?orgId=1',
      fingerprint: a.fingerprint,
      silenceURL: 'http://grafana:3000/alerting/silence/new',
      dashboardURL: '',
      panelURL: '',
      values: { B: 412.5, C: 1 },
      valueString: "[ var='B' labels={} value=412.5 ], [ var='C' labels={} value=1 ]",
    })),
    groupLabels: {},
    commonLabels: {},
    commonAnnotations: {},
    externalURL: 'http://grafana:3000/',
    version: '1',
    groupKey: '{}:{}',
    truncatedAlerts: 0,
    title: `[${status.toUpperCase()}:${alerts.length}]`,
    state: status === 'firing' ? 'alerting' : 'ok',
    message: '',
  });
}

const webAlert = {
  alertname: 'WebLatencyHigh',
  severity: 'page',
  warmpool_pool: 'web',
  warmpool_scale_out: '5',
};

/** Advances until the pool's active count reaches `active` (and warm hits `hits`); fails after `within` s. */
async function expectWoken(name: string, active: number, within: number, hits?: number) {
  let last = await poolNow(name);
  const took = await advance(within, async () => {
    last = await poolNow(name);
    return last.active === active && (hits === undefined || last.promotions.warmHits >= hits);
  });
  expect(
    took,
    `${name}: active ${active} within ${within} s (got ${last.active}, ${last.promotions.warmHits} hits)`,
  ).toBeDefined();
  return last;
}

describe('webhooks drive promotions', () => {
  it('generic: scale_out raises desired and active by count, set holds a count, scale_in lowers the hold', async () => {
    await start();
    const before = await fill();
    const web = pool(before, 'web');
    const batch = pool(before, 'batch');

    // Bearer: web out by 5, served from the warm pool (an unpause: well under a second).
    expect(
      decisions(await hook('generic', generic({ pool: 'web', action: 'scale_out', count: 5 }), bearer())),
    ).toEqual([{ pool: 'web', key: 'generic', action: 'hold_by', desired: web.desired + 5 }]);
    expect((await poolNow('web')).desired).toBe(web.desired + 5);
    const woken = await expectWoken('web', web.active + 5, 3, web.promotions.warmHits + 5);
    expect(woken.promotions.coldMisses).toBe(web.promotions.coldMisses);

    // HMAC: batch held at 4 (a resume from suspended takes about 9 s).
    const set = generic({ pool: 'batch', action: 'set', desired: 4 });
    expect(decisions(await hook('generic', set, signed(set)))).toEqual([
      { pool: 'batch', key: 'generic', action: 'hold_desired', desired: 4 },
    ]);
    await expectWoken('batch', 4, 15, batch.promotions.warmHits + 4 - batch.active);

    // scale_in lowers the generic hold at once; desired follows after the stabilisation window.
    const lowered = decisions(
      await hook('generic', generic({ pool: 'web', action: 'scale_in', count: 2 }), bearer()),
    );
    expect(lowered).toEqual([{ pool: 'web', key: 'generic', action: 'lower', desired: web.desired + 5 }]);
    expect((await rt().controller.policy('web')).holds).toEqual({ generic: web.desired + 3 });
    await advance(STABILISATION_S - 10);
    expect((await poolNow('web')).desired).toBe(web.desired + 5);
    await advance(15);
    expect((await poolNow('web')).desired).toBe(web.desired + 3);
    await expectWoken('web', web.active + 3, 5);
  });

  it('generic: scale_in on a pool with no hold of its own leaves no floor behind', async () => {
    await start();
    await advance(2);
    const sample = (value: number) =>
      JSON.stringify({ pool: 'web', metric: 'requests_per_s', value, ts: clock.now() });
    expect((await send('/metrics', sample(1250))).status).toBe(202);
    expect((await poolNow('web')).desired).toBe(13);

    // Nothing of the webhook's to lower: the metric keeps deciding.
    const out = decisions(
      await hook('generic', generic({ pool: 'web', action: 'scale_in', count: 3 }), bearer()),
    );
    expect(out).toEqual([{ pool: 'web', key: 'generic', action: 'lower', desired: 13 }]);
    expect((await rt().controller.policy('web')).holds).toEqual({});

    // The load falls to 100 requests/s: after the stabilisation window the pool is back at its minimum.
    await advance(20);
    expect((await send('/metrics', sample(100))).status).toBe(202);
    await advance(STABILISATION_S + 30);
    expect((await poolNow('web')).desired).toBe(minActive('web'));
  });

  it('alertmanager: a firing alert scales out once, its repeats do not, its resolve releases the hold', async () => {
    await start();
    const before = pool(await fill(), 'web');
    const firing = alertmanager([{ status: 'firing', labels: webAlert, fingerprint: 'c4a1c2e9d7b5f3a1' }]);

    expect(decisions(await hook('alertmanager', firing, bearer()))).toEqual([
      {
        pool: 'web',
        key: 'alertmanager:c4a1c2e9d7b5f3a1',
        action: 'hold_by',
        desired: before.desired + 5,
      },
    ]);
    await expectWoken('web', before.active + 5, 3, before.promotions.warmHits + 5);
    const held = await snapshot();
    expect(held.policies[0]?.holds).toEqual({ 'alertmanager:c4a1c2e9d7b5f3a1': before.desired + 5 });

    // Alertmanager repeats a firing alert every repeat_interval: it changes nothing.
    for (const wait of [0, 1, 60]) {
      await advance(wait);
      const again = await snapshot();
      expect(decisions(await hook('alertmanager', firing, bearer()))).toEqual([
        {
          pool: 'web',
          key: 'alertmanager:c4a1c2e9d7b5f3a1',
          action: 'hold_by',
          desired: before.desired + 5,
        },
      ]);
      expect(await snapshot()).toEqual(again);
    }
    await advance(5);
    expect(await poolNow('web')).toMatchObject({ desired: before.desired + 5, active: before.active + 5 });

    // Resolved: the hold goes at once; desired falls back once the stabilisation window has passed.
    const resolved = alertmanager([
      { status: 'resolved', labels: webAlert, fingerprint: 'c4a1c2e9d7b5f3a1' },
    ]);
    expect(decisions(await hook('alertmanager', resolved, bearer()))).toEqual([
      { pool: 'web', key: 'alertmanager:c4a1c2e9d7b5f3a1', action: 'release', desired: before.desired + 5 },
    ]);
    expect((await rt().controller.policy('web')).holds).toEqual({});
    await advance(STABILISATION_S - 10);
    expect((await poolNow('web')).desired, 'within the stabilisation window').toBe(before.desired + 5);
    const fell = await advance(20, async () => (await poolNow('web')).desired === before.desired);
    expect(fell, 'desired back after the window').toBeDefined();
    await expectWoken('web', before.active, 5);

    // Fired again after its resolve, the same alert scales out again.
    expect(decisions(await hook('alertmanager', firing, signed(firing)))[0]?.desired).toBe(
      before.desired + 5,
    );
  });

  it('grafana, HMAC-signed: config rules map its alerts to their pools', async () => {
    await start({
      webhooks: {
        rules: [
          { match: { alertname: 'BatchQueueBacklog' }, pool: 'batch', desired: 6 },
          { match: { alertname: 'WebSaturation', team: 'web' }, pool: 'web', scaleOut: 3 },
        ],
      },
    });
    const before = await fill();
    const web = pool(before, 'web');
    const batch = pool(before, 'batch');
    const body = grafana('firing', [
      {
        labels: { alertname: 'BatchQueueBacklog', grafana_folder: 'Capacity' },
        fingerprint: '57c6d9296de2ad39',
      },
      { labels: { alertname: 'WebSaturation', team: 'web' }, fingerprint: '0f1e2d3c4b5a6978' },
      // Matches no rule and has no warmpool_pool label: ignored.
      { labels: { alertname: 'DiskFull', team: 'web' }, fingerprint: '1111222233334444' },
    ]);
    expect(decisions(await hook('grafana', body, signed(body)))).toEqual([
      { pool: 'batch', key: 'grafana:57c6d9296de2ad39', action: 'hold_desired', desired: 6 },
      { pool: 'web', key: 'grafana:0f1e2d3c4b5a6978', action: 'hold_by', desired: web.desired + 3 },
    ]);
    await expectWoken('web', web.active + 3, 3);
    await expectWoken('batch', 6, 15);
    expect((await poolNow('batch')).promotions.warmHits).toBeGreaterThanOrEqual(
      batch.promotions.warmHits + Math.min(batch.warm, 6 - batch.active),
    );

    const resolved = grafana('resolved', [
      {
        labels: { alertname: 'BatchQueueBacklog', grafana_folder: 'Capacity' },
        fingerprint: '57c6d9296de2ad39',
      },
    ]);
    expect(decisions(await hook('grafana', resolved, signed(resolved)))).toEqual([
      { pool: 'batch', key: 'grafana:57c6d9296de2ad39', action: 'release', desired: 6 },
    ]);
    expect((await rt().controller.policy('batch')).holds).toEqual({});
    expect((await rt().controller.policy('web')).holds).toEqual({
      'grafana:0f1e2d3c4b5a6978': web.desired + 3,
    });
  });
});

describe('webhook authentication', () => {
  const body = generic({ pool: 'web', action: 'scale_out', count: 1 });

  it('bearer: the token is accepted; a wrong one is 401, is not echoed, and changes nothing', async () => {
    await start();
    await advance(1);
    const before = await snapshot();
    const wrong: Record<string, string>[] = [
      bearer(`${TOKEN}x`),
      bearer(TOKEN.slice(0, -1)),
      bearer(TOKEN.toUpperCase()),
      bearer(` ${TOKEN}`),
      bearer(''),
      { authorization: TOKEN },
      { authorization: `Basic ${Buffer.from(`warmpool:${TOKEN}`).toString('base64')}` },
      {},
    ];
    for (const headers of wrong) {
      for (const kind of KINDS) {
        const answer = await hook(kind, body, headers);
        const error = refusal(answer, 401);
        expect(error.error).toMatch(/bearer|signature/i);
        // What was presented is not echoed either: a near miss is most of the secret.
        const presented = headers.authorization?.slice(7) ?? '';
        if (presented.length >= 4) expect(answer.text).not.toContain(presented);
      }
    }
    await expectUnchanged(before, 'after wrong bearer tokens');
    expect(decisions(await hook('generic', body, bearer()))[0]?.desired).toBe(minActive('web') + 1);
  });

  it('HMAC on the runtime clock is accepted; wrong, tampered, expired or future is 401; a replay is 409', async () => {
    await start();
    await advance(1);
    const now = () => Math.floor(clock.now() / 1000);
    let before = await snapshot();
    const refused: [string, string, Record<string, string>][] = [
      ['wrong secret', body, signed(body, { secret: `${SECRET}x` })],
      ['the token as the key', body, signed(body, { secret: TOKEN })],
      ['signed another body', generic({ pool: 'web', action: 'scale_out', count: 9 }), signed(body)],
      ['expired (301 s old)', body, signed(body, { t: now() - 301 })],
      ['an hour old', body, signed(body, { t: now() - 3600 })],
      ['from the future (301 s)', body, signed(body, { t: now() + 301 })],
      ['the wall clock, not the runtime’s', body, signed(body, { t: Math.floor(Date.now() / 1000) })],
      ['no v1', body, { 'x-warmpool-signature': `t=${now()}` }],
      ['short v1', body, { 'x-warmpool-signature': `t=${now()},v1=${'a'.repeat(63)}` }],
      [
        't not a number',
        body,
        { 'x-warmpool-signature': signed(body)['x-warmpool-signature'].replace(/t=\d+/, 't=soon') },
      ],
      [
        'v1 alone',
        body,
        { 'x-warmpool-signature': signed(body)['x-warmpool-signature'].replace(/t=\d+,/, '') },
      ],
      ['empty', body, { 'x-warmpool-signature': '' }],
    ];
    for (const [what, sent, headers] of refused) {
      const error = refusal(await hook('generic', sent, headers), 401);
      expect(error.error, what).toMatch(/signature|bearer/i);
    }
    await expectUnchanged(before, 'after refused signatures');

    // Good: on the runtime's clock; at the edge of the window (300 s either side); hex in upper case.
    const good = signed(body);
    expect(decisions(await hook('generic', body, good))[0]?.desired).toBe(minActive('web') + 1);
    expect(decisions(await hook('generic', body, signed(body, { t: now() - 300 })))[0]?.desired).toBe(
      minActive('web') + 2,
    );
    const edge = signed(body, { t: now() + 300 })['x-warmpool-signature'];
    const upper = edge.replace(/v1=([0-9a-f]+)/, (_m, hex: string) => `v1=${hex.toUpperCase()}`);
    expect(decisions(await hook('generic', body, { 'x-warmpool-signature': upper }))[0]?.desired).toBe(
      minActive('web') + 3,
    );

    // Each signature once: the same request again, a reordered header, or the hex in the other case: 409.
    before = await snapshot();
    const [t, v1] = good['x-warmpool-signature'].split(',');
    for (const header of [good['x-warmpool-signature'], `${v1}, ${t}`, edge]) {
      const error = refusal(await hook('generic', body, { 'x-warmpool-signature': header }), 409);
      expect(error.error).toMatch(/replay/);
    }
    // A signature does not name its path: used once, it is refused at every webhook path.
    for (const kind of ['alertmanager', 'grafana'] as const) refusal(await hook(kind, body, good), 409);
    await advance(200);
    before = await snapshot();
    refusal(await hook('generic', body, good), 409);
    await expectUnchanged(before, 'after replays');
  });

  it('with only a token, a signature is not enough; with only a secret, a bearer is not', async () => {
    await start({ env: { WARMPOOL_WEBHOOK_TOKEN: TOKEN } });
    await advance(1);
    let before = await snapshot();
    expect(refusal(await hook('generic', body, signed(body)), 401).error).toBe('missing bearer token');
    await expectUnchanged(before, 'token only, signed');
    await stopRuntime();

    await start({ env: { WARMPOOL_WEBHOOK_SECRET: SECRET } });
    await advance(1);
    before = await snapshot();
    refusal(await hook('generic', body, bearer()), 401);
    await expectUnchanged(before, 'secret only, bearer');
    expect(decisions(await hook('generic', body, signed(body)))).toHaveLength(1);
  });

  it('reads the secrets from *_FILE (a mounted secret, trailing newline trimmed)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'warmpool-webhook-'));
    try {
      writeFileSync(join(dir, 'token'), `${TOKEN}\n`);
      writeFileSync(join(dir, 'secret'), `${SECRET}\n`);
      await start({
        env: {
          WARMPOOL_WEBHOOK_TOKEN_FILE: join(dir, 'token'),
          WARMPOOL_WEBHOOK_SECRET_FILE: join(dir, 'secret'),
        },
      });
      await advance(1);
      expect(decisions(await hook('generic', body, bearer()))).toHaveLength(1);
      expect(decisions(await hook('generic', body, signed(body)))).toHaveLength(1);
      refusal(await hook('generic', body, bearer(TOKEN.slice(1))), 401);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('with no secret configured every webhook answers 403 and changes nothing', async () => {
    for (const env of [{}, { WARMPOOL_WEBHOOK_TOKEN: '', WARMPOOL_WEBHOOK_SECRET: '' }]) {
      await start({ env });
      await advance(1);
      const before = await snapshot();
      for (const kind of KINDS) {
        for (const headers of [{}, bearer(), bearer(''), signed(body), signed(body, { secret: '' })]) {
          const error = refusal(await hook(kind, body, headers), 403);
          expect(error.error).toMatch(/WARMPOOL_WEBHOOK_TOKEN/);
        }
      }
      await expectUnchanged(before, `no secrets (${JSON.stringify(env)})`);
      await stopRuntime();
    }
  });
});

describe('bad webhook requests change nothing', () => {
  it('a body over webhooks.maxBodyBytes is 413, declared or streamed, with or without credentials', async () => {
    await start();
    await advance(1);
    const before = await snapshot();
    const limit = loaded.config.webhooks.maxBodyBytes;
    expect(limit).toBe(262_144);
    // A good payload, only padded past the limit: the size alone refuses it.
    const big = `${generic({ pool: 'web', action: 'scale_out', count: 1 })}${' '.repeat(limit)}`;
    for (const kind of KINDS) {
      for (const headers of [{}, bearer(), signed(big)]) {
        expect(refusal(await hook(kind, big, headers), 413).error).toBe(`body larger than ${limit} bytes`);
      }
    }
    // No content-length (chunked): the server counts as it reads.
    const bytes = new TextEncoder().encode(big);
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < bytes.length; i += 16 * 1024)
          controller.enqueue(bytes.subarray(i, i + 16 * 1024));
        controller.close();
      },
    });
    const res = await fetch(`${rt().url}/webhooks/generic`, {
      method: 'POST',
      headers: bearer(),
      body: stream,
      duplex: 'half',
    } as RequestInit & { duplex: 'half' });
    const text = await res.text();
    answered.push(text);
    expect(res.status).toBe(413);
    expect(ErrorSchema.parse(JSON.parse(text)).error).toMatch(/larger than/);
    await expectUnchanged(before, 'after oversized bodies');

    // At the limit, the size is fine (and the payload is then applied).
    const atLimit = generic({ pool: 'web', action: 'scale_out', count: 1 }).padEnd(limit, ' ');
    expect(decisions(await hook('generic', atLimit, bearer()))).toHaveLength(1);
  });

  it('a smaller webhooks.maxBodyBytes from the config is what counts', async () => {
    await start({ webhooks: { maxBodyBytes: 2048 } });
    await advance(1);
    const before = await snapshot();
    const padded = generic({ pool: 'web', action: 'scale_out', count: 1 }).padEnd(2049, ' ');
    expect(refusal(await hook('generic', padded, bearer()), 413).error).toBe('body larger than 2048 bytes');
    await expectUnchanged(before, 'after a body over the configured limit');
    expect(decisions(await hook('generic', padded.trimEnd().padEnd(2048), bearer()))).toHaveLength(1);
  });

  it('malformed JSON is 400, and so is a payload that does not validate, naming the field', async () => {
    await start();
    await advance(1);
    const before = await snapshot();
    for (const [i, kind] of KINDS.entries()) {
      // Each endpoint its own bytes: one signature at a second endpoint is a replay (409), not a 400.
      for (const bad of ['{"pool":', 'not json', '', '{"pool":"web",}', '\u0000\u00ff']) {
        const sent = `${bad}${' '.repeat(i)}`;
        for (const headers of [bearer(), signed(sent)]) {
          expect(
            refusal(await hook(kind, sent, headers), 400).error,
            `${kind} ${JSON.stringify(sent)}`,
          ).toMatch(/^body is not valid JSON/);
        }
      }
    }
    const invalid: [Kind, string, string[]][] = [
      ['generic', generic({ pool: 'web', action: 'scale_out' }), ['count: required']],
      ['generic', generic({ pool: 'web', action: 'set', desired: 3, by: 'ops' }), ['by: unknown key']],
      [
        'generic',
        generic({ pool: 'web', action: 'scale_in', count: '2' }),
        ['count: must be a number (got "2")'],
      ],
      [
        'alertmanager',
        alertmanager([{ status: 'firing', labels: { alertname: 'DiskFull' }, fingerprint: 'n1' }]),
        ['alerts: no alert maps to a pool (no rule matches, and no alert has a warmpool_pool label)'],
      ],
      [
        'alertmanager',
        grafana('firing', [{ labels: webAlert, fingerprint: 'g1' }]),
        ['version: must be 4 (got "1")'],
      ],
      [
        'grafana',
        JSON.stringify({ status: 'alerting', alerts: [] }),
        [
          'status: must be one of: firing, resolved (got "alerting")',
          'alerts: must have at least 1 entry (got 0)',
        ],
      ],
    ];
    for (const [kind, sent, problems] of invalid) {
      const error = refusal(await hook(kind, sent, bearer()), 400);
      expect(error.error).toBe(`invalid ${kind} payload`);
      expect(error.problems).toEqual(problems);
    }
    await expectUnchanged(before, 'after malformed payloads');
  });

  it('an unknown pool is 404 naming it, and a good alert beside it is not applied either', async () => {
    await start();
    await advance(1);
    const before = await snapshot();
    const unknown = 'pool: unknown pool "nope" (known: web, batch)';
    const scaleOut = generic({ pool: 'nope', action: 'scale_out', count: 1 });
    expect(refusal(await hook('generic', scaleOut, bearer()), 404).problems).toEqual([unknown]);
    const mixed = alertmanager([
      { status: 'firing', labels: webAlert, fingerprint: 'ok1' },
      { status: 'firing', labels: { ...webAlert, warmpool_pool: 'nope' }, fingerprint: 'bad1' },
    ]);
    expect(refusal(await hook('alertmanager', mixed, signed(mixed)), 404).problems).toEqual([unknown]);
    const g = grafana('firing', [{ labels: { ...webAlert, warmpool_pool: 'nope' }, fingerprint: 'bad2' }]);
    expect(refusal(await hook('grafana', g, bearer()), 404).problems).toEqual([unknown]);
    await expectUnchanged(before, 'after unknown pools');
  });

  it('any method but POST on a webhook path is 405; an unknown webhook path is 404', async () => {
    await start();
    await advance(1);
    const before = await snapshot();
    for (const kind of KINDS) {
      for (const method of ['GET', 'PUT', 'DELETE', 'PATCH']) {
        const path = `/webhooks/${kind}`;
        const body = method === 'GET' ? undefined : generic({ pool: 'web', action: 'scale_out', count: 1 });
        const error = refusal(await send(path, body, bearer(), method), 405);
        expect(error.error).toBe(`method ${method} not allowed on ${path}`);
      }
    }
    for (const path of ['/webhooks', '/webhooks/', '/webhooks/prometheus', '/webhooks/generic/x']) {
      refusal(await send(path, generic({ pool: 'web', action: 'scale_out', count: 1 }), bearer()), 404);
    }
    await expectUnchanged(before, 'after wrong methods and paths');
  });
});

describe('webhooks under arbitrary input', () => {
  // Header values fetch can send: printable ASCII, tabs, and a few Latin-1 letters.
  const headerText = fc.string({
    unit: fc.constantFrom(
      ...Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i)),
      '\t',
      'é',
      'ÿ',
    ),
    maxLength: 120,
  });
  const hex64 = fc.stringMatching(/^[0-9a-f]{64}$/);
  const kind = fc.constantFrom(...KINDS);
  const body = fc.oneof(
    // Payloads that would change state if their credentials were good.
    fc.constant(generic({ pool: 'web', action: 'scale_out', count: 3 })),
    fc.constant(generic({ pool: 'batch', action: 'set', desired: 9 })),
    hex64.map((fp) => alertmanager([{ status: 'firing', labels: webAlert, fingerprint: fp }])),
    hex64.map((fp) => grafana('firing', [{ labels: webAlert, fingerprint: fp }])),
    fc.jsonValue().map((v) => JSON.stringify(v)),
    fc.string({ unit: 'binary', maxLength: 200 }),
    fc.uint8Array({ maxLength: 64 }),
  );
  /** Credentials that are always wrong, some of them near misses. */
  const authorization = fc.option(
    fc.oneof(
      headerText,
      headerText.map((s) => `Bearer ${s}`),
      fc.constantFrom(
        `Bearer ${TOKEN}x`,
        `Bearer ${TOKEN.slice(0, -1)}`,
        `Bearer  ${TOKEN}`,
        `Token ${TOKEN}`,
        `Bearer ${SECRET}`,
      ),
    ),
    { nil: undefined },
  );
  type Sig =
    | { kind: 'text'; text: string }
    | { kind: 'random'; v1: string }
    | { kind: 'secret'; secret: string }
    | { kind: 'stale'; by: number }
    | { kind: 'other body' };
  const signature = fc.option(
    fc.oneof(
      headerText.map((text): Sig => ({ kind: 'text', text })),
      hex64.map((v1): Sig => ({ kind: 'random', v1 })),
      fc
        .constantFrom(`${SECRET}x`, TOKEN, '', SECRET.slice(1))
        .map((secret): Sig => ({ kind: 'secret', secret })),
      fc
        .integer({ min: 301, max: 10_000_000 })
        .map((by): Sig => ({ kind: 'stale', by: by * (by % 2 ? 1 : -1) })),
      fc.constant<Sig>({ kind: 'other body' }),
    ),
    { nil: undefined },
  );
  const extraHeaders = fc.dictionary(
    fc.stringMatching(/^x-[a-z0-9-]{1,12}$/).filter((h) => h !== 'x-warmpool-signature'),
    headerText,
    { maxKeys: 3 },
  );

  function signatureHeader(sig: Sig, sent: string | Uint8Array): string {
    const t = Math.floor(clock.now() / 1000);
    switch (sig.kind) {
      case 'text':
        return sig.text;
      case 'random':
        return `t=${t},v1=${sig.v1}`;
      case 'secret':
        return signed(sent, { secret: sig.secret })['x-warmpool-signature'];
      case 'stale':
        return signed(sent, { t: t - sig.by })['x-warmpool-signature'];
      case 'other body':
        return signed(`${typeof sent === 'string' ? sent : Buffer.from(sent).toString('latin1')} `)[
          'x-warmpool-signature'
        ];
    }
  }

  it('wrong credentials: always 401, never a 5xx, never a change, at every endpoint', async () => {
    await start();
    await fill();
    const before = await snapshot();
    await fc.assert(
      fc.asyncProperty(
        kind,
        body,
        authorization,
        signature,
        extraHeaders,
        fc.constantFrom('application/json', 'text/plain', 'application/x-www-form-urlencoded'),
        async (k, sent, auth, sig, extra, contentType) => {
          const headers: Record<string, string> = { ...extra, 'content-type': contentType };
          if (auth !== undefined) headers.authorization = auth;
          if (sig !== undefined) headers['x-warmpool-signature'] = signatureHeader(sig, sent);
          const answer = await hook(k, sent, headers);
          expect(answer.status).toBe(401);
          expect(ErrorSchema.safeParse(answer.json).success).toBe(true);
          expect(await snapshot()).toEqual(before);
        },
      ),
      { numRuns: 300 },
    );
    await expectUnchanged(before, 'after the property');
  });

  it('good credentials and arbitrary bodies: never a 5xx, always a JSON answer', async () => {
    await start();
    await advance(1);
    await fc.assert(
      fc.asyncProperty(kind, body, fc.boolean(), extraHeaders, async (k, sent, useBearer, extra) => {
        const answer = await hook(k, sent, { ...extra, ...(useBearer ? bearer() : signed(sent)) });
        // A signed body sent twice within one virtual second carries the same signature: a replay.
        expect(useBearer ? [202, 400, 404] : [202, 400, 404, 409]).toContain(answer.status);
        if (answer.status === 202) DecisionsSchema.parse(answer.json);
        else ErrorSchema.parse(answer.json);
      }),
      { numRuns: 200 },
    );
  });
});
