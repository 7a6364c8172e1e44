/**
 * The Keystone v3 and Nova clients against small loopback HTTP servers written here, for what a real Nova
 * cannot be made to do on demand: token renewal ahead of expiry on a VirtualClock, a 401 answered by one
 * re-authentication and one retry, endpoint selection from the catalog, microversion negotiation,
 * Retry-After on 429 and 413, 5xx, timeouts and refused connections, pagination that follows the `next`
 * link's marker, the bound on requests in flight, and no token or secret in any message or log line.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { SystemClock, VirtualClock } from '../../lib/clock/index.js';
import { REDACT_PATHS } from '../../lib/log/index.js';
import {
  type CatalogEntry,
  ConflictError,
  computeUrls,
  Http,
  InsufficientCapacityError,
  identityV3Url,
  type KeystoneCredentials,
  KeystoneSession,
  MICROVERSIONS,
  microversionRange,
  NotFoundError,
  NovaClient,
  OpenStackConfigError,
  PermissionError,
  RateLimitedError,
  retryAfterMs,
  selectEndpoint,
  TransientError,
  UnsupportedError,
} from '../../lib/providers/index.js';

// ── a loopback server ───────────────────────────────────────────────────────────────────────────────────

interface Received {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  body: unknown;
}

type Handler = (req: Received, res: ServerResponse) => void | Promise<void>;

const servers: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function serve(handler: Handler): Promise<{ url: string; received: Received[] }> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const url = new URL(req.url ?? '/', 'http://x');
      const r: Received = {
        method: req.method ?? 'GET',
        path: url.pathname,
        query: url.searchParams,
        headers: req.headers,
        body: text === '' ? undefined : JSON.parse(text),
      };
      received.push(r);
      Promise.resolve(handler(r, res)).catch((err: unknown) => {
        res.statusCode = 500;
        res.end(String(err));
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  servers.push({
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
  return { url: `http://127.0.0.1:${port}`, received };
}

function json(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
  res.end(body === undefined ? '' : JSON.stringify(body));
}

const PASSWORD = 'pa55-very-secret';
const APP_SECRET = 'app-cred-secret-value';

const passwordCreds = (url: string): KeystoneCredentials => ({
  kind: 'password',
  authUrl: url,
  user: { name: 'warmpool', domain: { name: 'Default' } },
  password: PASSWORD,
  project: { name: 'warmpool', domain: { name: 'Default' } },
});

function catalogFor(url: string, regions: readonly string[] = ['RegionOne']): CatalogEntry[] {
  return [
    {
      type: 'compute',
      name: 'nova',
      endpoints: regions.flatMap((region) => [
        { interface: 'public', region, region_id: region, url: `${url}/compute/v2.1` },
        { interface: 'internal', region, region_id: region, url: `${url}/compute-internal/v2.1` },
      ]),
    },
    { type: 'identity', endpoints: [{ interface: 'public', region_id: 'RegionOne', url: `${url}/v3` }] },
  ];
}

/** Keystone's answer to POST /v3/auth/tokens: a token of `lifeS` seconds, values token-1, token-2 … */
function tokenIssuer(url: () => string, lifeS = 3600) {
  let n = 0;
  return (res: ServerResponse) => {
    n++;
    const issued = new Date('2030-01-01T00:00:00Z');
    const expires = new Date(issued.getTime() + lifeS * 1000);
    json(
      res,
      201,
      {
        token: {
          issued_at: issued.toISOString(),
          expires_at: expires.toISOString(),
          catalog: catalogFor(url()),
          project: { id: 'p-1', name: 'warmpool' },
          user: { id: 'u-1', name: 'warmpool' },
          roles: [{ name: 'member' }],
        },
      },
      { 'X-Subject-Token': `token-${n}` },
    );
  };
}

function session(
  url: string,
  options: { clock?: VirtualClock | SystemClock; timeoutMs?: number; max?: number } = {},
) {
  const http = new Http({ timeoutMs: options.timeoutMs ?? 5_000, maxConcurrency: options.max ?? 10 });
  const keystone = new KeystoneSession({
    credentials: passwordCreds(url),
    clock: options.clock ?? new SystemClock(),
    http,
  });
  const nova = new NovaClient({ keystone, interface: 'public', region: 'RegionOne', pageSize: 2 });
  return { keystone, nova };
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a rejection');
}

const VERSION_DOC = {
  version: { id: 'v2.1', status: 'CURRENT', version: '2.93', min_version: '2.1', links: [] },
};

// ── Keystone ────────────────────────────────────────────────────────────────────────────────────────────

describe('Keystone v3 authentication', () => {
  it('sends a project-scoped password request and keeps X-Subject-Token', async () => {
    let base = '';
    const issue = tokenIssuer(() => base);
    const srv = await serve((_req, res) => issue(res));
    base = srv.url;
    const { keystone } = session(srv.url);
    const token = await keystone.token();
    expect(token.value).toBe('token-1');
    expect(token.projectId).toBe('p-1');
    expect(srv.received[0]!.path).toBe('/v3/auth/tokens');
    expect(srv.received[0]!.body).toEqual({
      auth: {
        identity: {
          methods: ['password'],
          password: { user: { name: 'warmpool', domain: { name: 'Default' }, password: PASSWORD } },
        },
        scope: { project: { name: 'warmpool', domain: { name: 'Default' } } },
      },
    });
  });

  it('sends an application credential by id, or by name with its user, and no scope', async () => {
    let base = '';
    const issue = tokenIssuer(() => base);
    const srv = await serve((_req, res) => issue(res));
    base = srv.url;
    const http = new Http({ timeoutMs: 5_000, maxConcurrency: 4 });
    const clock = new SystemClock();
    await new KeystoneSession({
      clock,
      http,
      credentials: {
        kind: 'application_credential',
        authUrl: `${srv.url}/v3/`,
        credential: { id: 'ac-1' },
        secret: APP_SECRET,
      },
    }).token();
    await new KeystoneSession({
      clock,
      http,
      credentials: {
        kind: 'application_credential',
        authUrl: srv.url,
        credential: { name: 'wp', user: { name: 'warmpool', domain: { id: 'default' } } },
        secret: APP_SECRET,
      },
    }).token();
    expect(srv.received.map((r) => r.body)).toEqual([
      {
        auth: {
          identity: {
            methods: ['application_credential'],
            application_credential: { id: 'ac-1', secret: APP_SECRET },
          },
        },
      },
      {
        auth: {
          identity: {
            methods: ['application_credential'],
            application_credential: {
              name: 'wp',
              user: { name: 'warmpool', domain: { id: 'default' } },
              secret: APP_SECRET,
            },
          },
        },
      },
    ]);
  });

  it('reuses the token, and renews it when less than the margin (5 min) is left, before it expires', async () => {
    let base = '';
    const issue = tokenIssuer(() => base, 3600);
    const srv = await serve((_req, res) => issue(res));
    base = srv.url;
    const clock = new VirtualClock(1_000_000);
    const { keystone } = session(srv.url, { clock });
    expect((await keystone.token()).value).toBe('token-1');
    await clock.advance(3600_000 - 300_000 - 1_000);
    expect((await keystone.token()).value).toBe('token-1');
    expect(keystone.authentications).toBe(1);
    await clock.advance(2_000); // 4 min 59 s left: renew now, not at expiry
    expect((await keystone.token()).value).toBe('token-2');
    expect(keystone.authentications).toBe(2);
  });

  it('renews a short-lived token half-way through its life', async () => {
    let base = '';
    const issue = tokenIssuer(() => base, 60);
    const srv = await serve((_req, res) => issue(res));
    base = srv.url;
    const clock = new VirtualClock();
    const { keystone } = session(srv.url, { clock });
    await keystone.token();
    await clock.advance(29_000);
    expect((await keystone.token()).value).toBe('token-1');
    await clock.advance(2_000);
    expect((await keystone.token()).value).toBe('token-2');
  });

  it('keeps the current token while Keystone fails a renewal, until the token dies', async () => {
    let base = '';
    const issue = tokenIssuer(() => base, 3600);
    let down = false;
    const srv = await serve((_req, res) =>
      down ? json(res, 503, { error: { message: 'down' } }) : issue(res),
    );
    base = srv.url;
    const clock = new VirtualClock();
    const { keystone } = session(srv.url, { clock });
    await keystone.token();
    down = true;
    await clock.advance(3500_000);
    expect((await keystone.token()).value).toBe('token-1');
    await clock.advance(200_000);
    expect(await rejection(keystone.token())).toBeInstanceOf(TransientError);
  });

  it('shares one authentication between concurrent callers', async () => {
    let base = '';
    const issue = tokenIssuer(() => base);
    const srv = await serve(async (_req, res) => {
      await new Promise((r) => setTimeout(r, 30));
      issue(res);
    });
    base = srv.url;
    const { keystone } = session(srv.url);
    const tokens = await Promise.all(Array.from({ length: 8 }, () => keystone.token()));
    expect(new Set(tokens.map((t) => t.value))).toEqual(new Set(['token-1']));
    expect(srv.received.length).toBe(1);
  });

  it('refuses wrong credentials with PermissionError that names the user, not the password', async () => {
    const srv = await serve((_req, res) =>
      json(res, 401, {
        error: {
          code: 401,
          title: 'Unauthorized',
          message: 'The request you have made requires authentication.',
        },
      }),
    );
    const { keystone } = session(srv.url);
    const err = await rejection(keystone.token());
    expect(err).toBeInstanceOf(PermissionError);
    expect(err.message).toContain('user warmpool');
    expect(err.message).not.toContain(PASSWORD);
  });

  it('an application credential Keystone does not know (404) is PermissionError too', async () => {
    const srv = await serve((_req, res) =>
      json(res, 404, { error: { code: 404, message: 'Could not find Application Credential: ac-gone.' } }),
    );
    const keystone = new KeystoneSession({
      credentials: {
        kind: 'application_credential',
        authUrl: srv.url,
        credential: { id: 'ac-gone' },
        secret: APP_SECRET,
      },
      clock: new SystemClock(),
      http: new Http({ timeoutMs: 5_000, maxConcurrency: 1 }),
    });
    const err = await rejection(keystone.token());
    expect(err).toBeInstanceOf(PermissionError);
    expect(err.message).toContain('application credential ac-gone');
    expect(err.message).not.toContain(APP_SECRET);
  });

  it('a service answering 401 gets one re-authentication and one retry, transparently', async () => {
    let base = '';
    const issue = tokenIssuer(() => base);
    const srv = await serve((req, res) => {
      if (req.path === '/v3/auth/tokens') return issue(res);
      // token-1 was revoked server-side.
      if (req.headers['x-auth-token'] === 'token-1') return json(res, 401, { error: { message: 'revoked' } });
      json(res, 200, { servers: [] });
    });
    base = srv.url;
    const { keystone, nova } = session(srv.url);
    const listing = await nova.listServers({ tags: 'warmpool' });
    expect(listing.servers).toEqual([]);
    expect(keystone.authentications).toBe(2);
    const calls = srv.received.filter((r) => r.path.endsWith('/servers/detail'));
    expect(calls.map((r) => r.headers['x-auth-token'])).toEqual(['token-1', 'token-2']);
  });

  it('gives up with PermissionError when the fresh token is refused too (no loop)', async () => {
    let base = '';
    const issue = tokenIssuer(() => base);
    const srv = await serve((req, res) =>
      req.path === '/v3/auth/tokens' ? issue(res) : json(res, 401, { error: { message: 'nope' } }),
    );
    base = srv.url;
    const { keystone, nova } = session(srv.url);
    const err = await rejection(nova.getServer('s-1'));
    expect(err).toBeInstanceOf(PermissionError);
    expect(keystone.authentications).toBe(2);
    expect(srv.received.filter((r) => r.path.includes('/servers/')).length).toBe(2);
  });

  it('never writes a token or a secret to the log, nor to an error message', async () => {
    let base = '';
    const issue = tokenIssuer(() => base);
    let refuse = true;
    const srv = await serve((req, res) => {
      if (req.path === '/v3/auth/tokens') return issue(res);
      if (refuse) {
        refuse = false;
        return json(res, 401, {});
      }
      json(res, 500, { computeFault: { message: 'boom' } });
    });
    base = srv.url;
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const log = pino({ level: 'trace', redact: { paths: REDACT_PATHS, censor: '[redacted]' } }, sink);
    const http = new Http({ timeoutMs: 5_000, maxConcurrency: 4 });
    const keystone = new KeystoneSession({
      credentials: passwordCreds(srv.url),
      clock: new SystemClock(),
      http,
      log,
    });
    const nova = new NovaClient({ keystone, interface: 'public' });
    const err = await rejection(nova.getServer('s-1'));
    expect(err).toBeInstanceOf(TransientError);
    const all = [...lines, err.message, String(err.cause ?? '')].join('\n');
    expect(lines.length).toBeGreaterThan(0);
    for (const secret of [PASSWORD, 'token-1', 'token-2']) expect(all).not.toContain(secret);
  });
});

describe('service catalog', () => {
  const url = 'http://cloud.example';

  it('selects the endpoint of the type, interface and region asked for', () => {
    const catalog = catalogFor(url, ['RegionOne', 'RegionTwo']);
    expect(selectEndpoint(catalog, { type: 'compute', interface: 'public', region: 'RegionTwo' })).toBe(
      `${url}/compute/v2.1`,
    );
    expect(selectEndpoint(catalog, { type: 'compute', interface: 'internal', region: 'RegionOne' })).toBe(
      `${url}/compute-internal/v2.1`,
    );
  });

  it('reads the legacy `publicURL` interface name and a region given only as `region`', () => {
    const catalog: CatalogEntry[] = [
      { type: 'compute', endpoints: [{ interface: 'publicURL', region: 'R1', url: `${url}/nova/` }] },
    ];
    expect(selectEndpoint(catalog, { type: 'compute', interface: 'public', region: 'R1' })).toBe(
      `${url}/nova`,
    );
  });

  it('says what is offered when nothing matches, and asks for a region when several offer the service', () => {
    const catalog = catalogFor(url, ['RegionOne', 'RegionTwo']);
    const err = (() => {
      try {
        selectEndpoint(catalog, { type: 'compute', interface: 'admin', region: 'RegionOne' });
      } catch (e) {
        return e as OpenStackConfigError;
      }
      throw new Error('no error');
    })();
    expect(err).toBeInstanceOf(OpenStackConfigError);
    expect(err.message).toContain('no compute endpoint with interface admin, region RegionOne');
    expect(err.message).toContain('public@RegionOne');
    expect(() => selectEndpoint(catalog, { type: 'compute', interface: 'public' })).toThrow(
      /several regions/,
    );
    expect(() => selectEndpoint(catalog, { type: 'image', interface: 'public' })).toThrow(
      /no image service in the token's catalog \(it has: compute, identity\)/,
    );
  });

  it('normalises the auth URL to /v3 and refuses v2.0', () => {
    expect(identityV3Url('http://ctl:5000')).toBe('http://ctl:5000/v3');
    expect(identityV3Url('http://ctl:5000/v3/')).toBe('http://ctl:5000/v3');
    expect(identityV3Url('https://cloud/identity/v3')).toBe('https://cloud/identity/v3');
    expect(() => identityV3Url('http://ctl:5000/v2.0')).toThrow(OpenStackConfigError);
  });
});

// ── Nova ────────────────────────────────────────────────────────────────────────────────────────────────

/** Keystone and a compute endpoint on one loopback server; `nova` answers everything under /compute. */
async function cloud(nova: Handler) {
  let base = '';
  const issue = tokenIssuer(() => base);
  const srv = await serve((req, res) => (req.path === '/v3/auth/tokens' ? issue(res) : nova(req, res)));
  base = srv.url;
  return srv;
}

describe('microversions', () => {
  it('reads the range from the version document and sends both headers on every call', async () => {
    const srv = await cloud((req, res) => {
      if (req.path === '/compute/v2.1/')
        return json(res, 200, { version: { ...VERSION_DOC.version, version: '2.79' } });
      json(res, 200, { server: { id: 's-1', status: 'ACTIVE' } });
    });
    const { nova } = session(srv.url);
    expect(await nova.supports(MICROVERSIONS.createOnHost)).toBe(true);
    expect(await nova.supports(MICROVERSIONS.unshelveToHost)).toBe(false);
    expect(await nova.supports('2.1')).toBe(true);
    await nova.getServer('s-1');
    const show = srv.received.find((r) => r.path === '/compute/v2.1/servers/s-1')!;
    expect(show.headers['openstack-api-version']).toBe('compute 2.52');
    expect(show.headers['x-openstack-nova-api-version']).toBe('2.52');
    // Read once.
    expect(srv.received.filter((r) => r.path === '/compute/v2.1/').length).toBe(1);
  });

  it('refuses a Nova older than 2.52 with UnsupportedError, and retries the read after a failure', async () => {
    let answer: { status: number; body: unknown } = { status: 503, body: {} };
    const srv = await cloud((_req, res) => json(res, answer.status, answer.body));
    const { nova } = session(srv.url);
    expect(await rejection(nova.microversions())).toBeInstanceOf(TransientError);
    answer = { status: 200, body: { version: { ...VERSION_DOC.version, version: '2.38' } } };
    const err = await rejection(nova.microversions());
    expect(err).toBeInstanceOf(UnsupportedError);
    expect(err.message).toContain('up to 2.38; warmpool needs 2.52');
  });

  it('reads the range from a list of versions and from a project-scoped or legacy endpoint URL', () => {
    expect(
      microversionRange({
        versions: [
          { id: 'v2.0', version: '', min_version: '' },
          { id: 'v2.1', version: '2.90', min_version: '2.1' },
        ],
      }),
    ).toEqual({ min: { major: 2, minor: 1 }, max: { major: 2, minor: 90 } });
    expect(microversionRange({ version: { id: 'v2.0', version: '', min_version: '' } })).toBeUndefined();
    expect(computeUrls('http://h:8774/v2.1/abc123')).toEqual({
      api: 'http://h:8774/v2.1/abc123',
      versions: 'http://h:8774/v2.1/',
    });
    expect(computeUrls('http://h:8774/v2/abc123')).toEqual({
      api: 'http://h:8774/v2.1/abc123',
      versions: 'http://h:8774/v2.1/',
    });
    expect(computeUrls('https://cloud/compute/')).toEqual({
      api: 'https://cloud/compute/v2.1',
      versions: 'https://cloud/compute/v2.1/',
    });
  });
});

describe('Nova errors as the port’s typed errors', () => {
  async function errorFor(status: number, body: unknown, headers: Record<string, string> = {}) {
    const srv = await cloud((_req, res) => json(res, status, body, headers));
    const { nova } = session(srv.url);
    return rejection(nova.action('s-1', 'pause', null, { policy: 'os_compute_api:os-pause-server:pause' }));
  }

  it('429 and 413 are RateLimitedError honouring Retry-After in seconds or as an HTTP date', async () => {
    const seconds = await errorFor(
      429,
      { overLimit: { message: 'Too many requests' } },
      { 'Retry-After': '7' },
    );
    expect(seconds).toBeInstanceOf(RateLimitedError);
    expect((seconds as RateLimitedError).retryAfterMs).toBe(7_000);

    const now = Date.now();
    const when = new Date(Math.ceil(now / 1000) * 1000 + 12_000).toUTCString();
    const dated = await errorFor(413, { overLimit: { message: 'Over limit' } }, { 'Retry-After': when });
    expect(dated).toBeInstanceOf(RateLimitedError);
    const ms = (dated as RateLimitedError).retryAfterMs;
    expect(ms).toBeGreaterThan(10_000);
    expect(ms).toBeLessThanOrEqual(13_000);

    const bare = await errorFor(429, {});
    expect((bare as RateLimitedError).retryAfterMs).toBe(2_000);
  });

  it('reads Retry-After against the answer’s own Date', () => {
    expect(retryAfterMs('Wed, 01 Jan 2031 00:00:30 GMT', 'Wed, 01 Jan 2031 00:00:00 GMT')).toBe(30_000);
    expect(retryAfterMs('soon', null)).toBe(2_000);
    expect(retryAfterMs('1.5', null)).toBe(1_500);
  });

  it('a quota refusal (403 or 413 "Quota exceeded") is InsufficientCapacityError', async () => {
    const quota = 'Quota exceeded for instances: Requested 1, but already used 10 of 10 instances';
    expect(await errorFor(403, { forbidden: { code: 403, message: quota } })).toBeInstanceOf(
      InsufficientCapacityError,
    );
    expect(await errorFor(413, { overLimit: { code: 413, message: quota } })).toBeInstanceOf(
      InsufficientCapacityError,
    );
  });

  it('403 is PermissionError naming the call and the policy', async () => {
    const err = await errorFor(403, {
      forbidden: {
        code: 403,
        message: "Policy doesn't allow os_compute_api:os-pause-server:pause to be performed.",
      },
    });
    expect(err).toBeInstanceOf(PermissionError);
    expect(err.message).toContain('openstack nova pause s-1: 403');
    expect(err.message).toContain("Nova's policy os_compute_api:os-pause-server:pause");
  });

  it('404 is NotFoundError, 409 ConflictError, 406 and 501 UnsupportedError', async () => {
    expect(
      await errorFor(404, { itemNotFound: { message: 'Instance s-1 could not be found.' } }),
    ).toBeInstanceOf(NotFoundError);
    const conflict = await errorFor(409, {
      conflictingRequest: { message: "Cannot 'pause' instance s-1 while it is in vm_state building" },
    });
    expect(conflict).toBeInstanceOf(ConflictError);
    expect(conflict.message).toContain('vm_state building');
    expect(await errorFor(406, {})).toBeInstanceOf(UnsupportedError);
    expect(await errorFor(501, {})).toBeInstanceOf(UnsupportedError);
  });

  it('5xx is TransientError, 503 with Retry-After RateLimitedError, and an HTML error page is read as text', async () => {
    expect(await errorFor(500, { computeFault: { message: 'Unexpected API Error.' } })).toBeInstanceOf(
      TransientError,
    );
    const proxy = await errorFor(502, '<html><body><h1>502 Bad Gateway</h1></body></html>');
    expect(proxy).toBeInstanceOf(TransientError);
    expect(proxy.message).toContain('502 Bad Gateway');
    const busy = await errorFor(503, {}, { 'Retry-After': '3' });
    expect(busy).toBeInstanceOf(RateLimitedError);
    expect((busy as RateLimitedError).retryAfterMs).toBe(3_000);
  });

  it('a request with no answer in time, or a refused connection, is TransientError', async () => {
    const srv = await cloud(() => {
      // Never answers.
    });
    const slow = session(srv.url, { timeoutMs: 150 });
    const err = await rejection(slow.nova.getServer('s-1'));
    expect(err).toBeInstanceOf(TransientError);
    expect(err.message).toContain('no answer within 150 ms');

    const closed = await serve(() => undefined);
    const url = closed.url;
    await servers.pop()!.close();
    const refused = session(url);
    const err2 = await rejection(refused.keystone.token());
    expect(err2).toBeInstanceOf(TransientError);
    expect(err2.message).toContain('openstack keystone authenticate');
  });
});

describe('Nova listings', () => {
  it('follows the next link page after page, on its own endpoint, keeping the filters', async () => {
    const all = Array.from({ length: 5 }, (_, i) => ({ id: `s-${i + 1}`, status: 'ACTIVE' }));
    const srv = await cloud((req, res) => {
      if (req.path !== '/compute/v2.1/servers/detail') return json(res, 404, {});
      const limit = Number(req.query.get('limit'));
      const marker = req.query.get('marker');
      const start = marker ? all.findIndex((s) => s.id === marker) + 1 : 0;
      const page = all.slice(start, start + limit);
      const links =
        page.length === limit
          ? [
              {
                rel: 'next',
                // The host Nova believes it has, behind a proxy: not reachable from here.
                href: `http://nova-internal.invalid:8774/v2.1/servers/detail?limit=${limit}&tags=${req.query.get('tags')}&marker=${page.at(-1)!.id}`,
              },
            ]
          : undefined;
      json(res, 200, { servers: page, ...(links ? { servers_links: links } : {}) }, {});
    });
    const { nova } = session(srv.url);
    const listing = await nova.listServers({ tags: 'warmpool:pool=web' });
    expect(listing.servers.map((s) => s.id)).toEqual(['s-1', 's-2', 's-3', 's-4', 's-5']);
    expect(listing.serverTime).toBeTypeOf('number');
    const pages = srv.received.filter((r) => r.path.endsWith('/servers/detail'));
    expect(pages.map((r) => r.query.get('marker'))).toEqual([null, 's-2', 's-4']);
    for (const p of pages) {
      expect(p.query.get('tags')).toBe('warmpool:pool=web');
      expect(p.query.get('limit')).toBe('2');
    }
  });

  it('stops on a next link that repeats a marker', async () => {
    const srv = await cloud((_req, res) =>
      json(res, 200, {
        servers: [
          { id: 's-1', status: 'ACTIVE' },
          { id: 's-2', status: 'ACTIVE' },
        ],
        servers_links: [{ rel: 'next', href: '/v2.1/servers/detail?marker=s-2' }],
      }),
    );
    const { nova } = session(srv.url);
    const listing = await nova.listServers({});
    expect(listing.servers.length).toBe(4);
    expect(srv.received.filter((r) => r.path.endsWith('/servers/detail')).length).toBe(2);
  });

  it('decodes only the fields it uses and refuses an answer of another shape', async () => {
    let body: unknown = {
      server: {
        id: 's-1',
        status: 'ACTIVE',
        flavor: { original_name: 'x' },
        'OS-EXT-AZ:availability_zone': 'nova',
      },
    };
    const srv = await cloud((_req, res) => json(res, 200, body));
    const { nova } = session(srv.url);
    expect((await nova.getServer('s-1')).id).toBe('s-1');
    body = { server: { status: 'ACTIVE' } };
    const err = await rejection(nova.getServer('s-1'));
    expect(err.message).toContain('unexpected answer: server.id: required');
  });
});

describe('bounded concurrency', () => {
  it('keeps at most maxConcurrency requests in flight per endpoint', async () => {
    let inFlight = 0;
    let most = 0;
    const srv = await cloud(async (_req, res) => {
      inFlight++;
      most = Math.max(most, inFlight);
      await new Promise((r) => setTimeout(r, 20));
      inFlight--;
      json(res, 200, { server: { id: 's', status: 'ACTIVE' } });
    });
    const { keystone, nova } = session(srv.url, { max: 2 });
    await keystone.token();
    await Promise.all(Array.from({ length: 8 }, (_, i) => nova.getServer(`s-${i}`)));
    expect(most).toBe(2);
  });
});
