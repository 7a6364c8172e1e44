/**
 * OpenStackProvider against a small fake Keystone + Nova + Glance on a loopback HTTP server, for what the
 * real Nova of infra/openstack cannot be made to do on demand: an old Nova (forced-host zones, no unshelve
 * to a host), a compute host that is down, credentials that are refused pinning (the one-time fallback to
 * hostId accounting), a launch the scheduler fails; and to count requests: `waitFor` on many servers is a
 * few list calls, never a poll per server. The fake answers as Nova does (202 on accepted actions, 409 in the
 * wrong state, tags filtering, changes-since listing deleted servers, hostId = sha224(project + host)).
 */
import { createHash, randomUUID } from 'node:crypto';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { SystemClock } from '../../lib/clock/index.js';
import type { Logger } from '../../lib/log/index.js';
import {
  ConflictError,
  isNotFound,
  MANAGED_TAG,
  NotFoundError,
  novaStatusOf,
  novaTag,
  OpenStackProvider,
  type OpenStackProviderOptions,
  PermissionError,
  TAGS,
  UnsupportedError,
} from '../../lib/providers/index.js';

const PROJECT = 'f0e1d2c3b4a5968778695a4b3c2d1e0f';
const HOSTS = ['cmp-1', 'cmp-2'];
const IMAGE_ID = '11111111-2222-4333-8444-555555555555';
const NET_ID = '99999999-8888-4777-8666-555555555555';
const PARAMS = { flavor: 'wp.tiny', image: 'tiny-image', network: NET_ID };

interface FakeServer {
  id: string;
  status: string;
  task: string | null;
  host: string | null;
  metadata: Record<string, string>;
  tags: string[];
  created: number;
  updated: number;
  deleted: boolean;
  fault?: string;
  /** Another project's server: listings do not show it, a GET by id (as admin) does. */
  foreign?: boolean;
}

interface Seen {
  method: string;
  path: string;
  query: URLSearchParams;
  version: string | undefined;
  body: unknown;
}

const hostId = (host: string) =>
  createHash('sha224')
    .update(PROJECT + host)
    .digest('hex');
const mv = (v: string) => v.split('.').map(Number) as [number, number];
const atLeast = (v: string | undefined, min: string) => {
  const [a, b] = mv(v ?? '2.1');
  const [c, d] = mv(min);
  return a > c || (a === c && b >= d);
};

/** A fake cloud: Keystone, Nova (two computes) and Glance on one loopback port. */
class FakeCloud {
  readonly servers = new Map<string, FakeServer>();
  readonly seen: Seen[] = [];
  admin = true;
  maxVersion = '2.93';
  down = new Set<string>();
  /** Real ms a transition (boot, pause …) takes. */
  stepMs = 15;
  private next = 0;
  url = '';
  private close?: () => Promise<void>;

  async start(): Promise<this> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const u = new URL(req.url ?? '/', 'http://x');
        const seen: Seen = {
          method: req.method ?? 'GET',
          path: u.pathname,
          query: u.searchParams,
          version: req.headers['x-openstack-nova-api-version'] as string | undefined,
          body: text ? JSON.parse(text) : undefined,
        };
        this.seen.push(seen);
        this.route(seen, res);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    this.close = () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      });
    return this;
  }

  stop(): Promise<void> {
    return this.close?.() ?? Promise.resolve();
  }

  calls(method: string, path: RegExp): Seen[] {
    return this.seen.filter((s) => s.method === method && path.test(s.path));
  }

  private route(s: Seen, res: ServerResponse) {
    const reply = (status: number, body?: unknown) => {
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(body === undefined ? '' : JSON.stringify(body));
    };
    if (s.path === '/v3/auth/tokens') {
      res.writeHead(201, { 'Content-Type': 'application/json', 'X-Subject-Token': `tok-${randomUUID()}` });
      res.end(
        JSON.stringify({
          token: {
            expires_at: new Date(Date.now() + 3600_000).toISOString(),
            issued_at: new Date().toISOString(),
            project: { id: PROJECT },
            user: { id: 'u' },
            catalog: [
              {
                type: 'compute',
                endpoints: [{ interface: 'public', region_id: 'R1', url: `${this.url}/compute/v2.1` }],
              },
              {
                type: 'image',
                endpoints: [{ interface: 'public', region_id: 'R1', url: `${this.url}/image` }],
              },
            ],
          },
        }),
      );
      return;
    }
    if (s.path === '/image/v2/images') {
      return reply(200, {
        images:
          s.query.get('name') === 'tiny-image'
            ? [{ id: IMAGE_ID, name: 'tiny-image', status: 'active' }]
            : [],
      });
    }
    const p = s.path.replace(/^\/compute\/v2\.1/, '');
    if (p === '/')
      return reply(200, { version: { id: 'v2.1', version: this.maxVersion, min_version: '2.1' } });
    if (atLeast(s.version, '2.1') && !atLeast(this.maxVersion, s.version ?? '2.1'))
      return reply(406, { computeFault: { message: `Version ${s.version} is not supported by the API.` } });
    if (p === '/flavors/f-tiny') return reply(200, { flavor: { id: 'f-tiny', name: 'wp.tiny' } });
    if (p === '/flavors/f-huge') return reply(200, { flavor: { id: 'f-huge', name: 'wp.huge' } });
    if (p.startsWith('/flavors/'))
      return reply(404, { itemNotFound: { message: 'Flavor could not be found.' } });
    if (p === '/flavors') return reply(200, { flavors: [{ id: 'f-tiny', name: 'wp.tiny' }] });
    if (p === '/os-hypervisors/detail') {
      if (!this.admin) return this.forbid(reply, 'os_compute_api:os-hypervisors:list-detail');
      return reply(200, {
        hypervisors: HOSTS.map((h) => ({
          hypervisor_hostname: `${h}.local`,
          state: this.down.has(h) ? 'down' : 'up',
          status: 'enabled',
          service: { host: h },
        })),
      });
    }
    if (p === '/servers' && s.method === 'POST') return this.create(s, reply);
    if (p === '/servers/detail') return this.list(s, reply);
    const m = /^\/servers\/([^/]+)(\/action)?$/.exec(p);
    if (!m) return reply(404, {});
    const server = this.servers.get(m[1]!);
    if (!server || (server.deleted && s.method !== 'GET'))
      return reply(404, { itemNotFound: { message: `Instance ${m[1]} could not be found.` } });
    if (s.method === 'GET') {
      if (server.deleted) return reply(404, { itemNotFound: { message: 'gone' } });
      return reply(200, { server: this.view(server) });
    }
    if (s.method === 'DELETE') {
      server.task = 'deleting';
      this.touch(server);
      this.later(server, () => {
        server.deleted = true;
        server.status = 'DELETED';
        server.task = null;
        server.tags = [];
      });
      return reply(204);
    }
    return this.action(server, s, reply);
  }

  private forbid(reply: (status: number, body?: unknown) => void, policy: string) {
    reply(403, { forbidden: { code: 403, message: `Policy doesn't allow ${policy} to be performed.` } });
  }

  private create(s: Seen, reply: (status: number, body?: unknown) => void) {
    const body = (s.body as { server: Record<string, unknown> }).server;
    if (body.tags !== undefined && !atLeast(s.version, '2.52'))
      return reply(400, { badRequest: { message: 'tags' } });
    let host: string | undefined;
    if (body.host !== undefined) {
      if (!atLeast(s.version, '2.74'))
        return reply(400, { badRequest: { message: "'host' was unexpected" } });
      if (!this.admin) return this.forbid(reply, 'compute:servers:create:requested_destination');
      host = String(body.host);
      if (!HOSTS.includes(host))
        return reply(400, { badRequest: { message: `Compute host ${host} could not be found.` } });
    }
    const az = typeof body.availability_zone === 'string' ? body.availability_zone : undefined;
    if (az?.includes(':')) {
      if (!this.admin) return this.forbid(reply, 'os_compute_api:servers:create:forced_host');
      host = az.split(':')[1];
    }
    if (body.flavorRef !== 'f-tiny' && body.flavorRef !== 'f-huge')
      return reply(400, { badRequest: { message: 'Flavor could not be found.' } });
    const id = randomUUID();
    const now = Date.now();
    const server: FakeServer = {
      id,
      status: 'BUILD',
      task: 'scheduling',
      host: null,
      metadata: { ...(body.metadata as Record<string, string>) },
      tags: [...((body.tags as string[]) ?? [])],
      created: now,
      updated: now,
      deleted: false,
    };
    this.servers.set(id, server);
    const huge = body.flavorRef === 'f-huge';
    this.later(server, () => {
      if (huge) {
        server.status = 'ERROR';
        server.fault = 'No valid host was found. There are not enough hosts available.';
      } else {
        server.status = 'ACTIVE';
        server.host = host ?? HOSTS[this.next++ % HOSTS.length]!;
      }
      server.task = null;
    });
    reply(202, { server: { id, links: [], adminPass: 'x' } });
  }

  private list(s: Seen, reply: (status: number, body?: unknown) => void) {
    const since = s.query.get('changes-since');
    const tags = s.query.get('tags')?.split(',') ?? [];
    const limit = Number(s.query.get('limit') ?? 1000);
    const all = [...this.servers.values()]
      .filter((v) => !v.foreign)
      .filter((v) => (since ? v.updated >= Date.parse(since) : !v.deleted))
      .filter((v) => tags.every((t) => v.tags.includes(t)))
      .sort((a, b) => b.created - a.created || (a.id < b.id ? -1 : 1));
    const marker = s.query.get('marker');
    const start = marker ? all.findIndex((v) => v.id === marker) + 1 : 0;
    const page = all.slice(start, start + limit);
    reply(200, {
      servers: page.map((v) => this.view(v)),
      ...(page.length === limit
        ? {
            servers_links: [
              { rel: 'next', href: `http://elsewhere/v2.1/servers/detail?marker=${page.at(-1)!.id}` },
            ],
          }
        : {}),
    });
  }

  private action(server: FakeServer, s: Seen, reply: (status: number, body?: unknown) => void) {
    const [name, arg] = Object.entries(s.body as Record<string, unknown>)[0]!;
    const moves: Record<string, [string[], string, string]> = {
      pause: [['ACTIVE'], 'pausing', 'PAUSED'],
      unpause: [['PAUSED'], 'unpausing', 'ACTIVE'],
      suspend: [['ACTIVE'], 'suspending', 'SUSPENDED'],
      resume: [['SUSPENDED'], 'resuming', 'ACTIVE'],
      shelve: [['ACTIVE', 'SHUTOFF', 'PAUSED', 'SUSPENDED'], 'shelving', 'SHELVED_OFFLOADED'],
      unshelve: [['SHELVED', 'SHELVED_OFFLOADED'], 'unshelving', 'ACTIVE'],
      'os-stop': [['ACTIVE', 'ERROR'], 'powering-off', 'SHUTOFF'],
      'os-start': [['SHUTOFF'], 'powering-on', 'ACTIVE'],
    };
    const move = moves[name];
    if (!move) return reply(400, { badRequest: { message: `unknown action ${name}` } });
    if (!move[0].includes(server.status) || server.task !== null) {
      return reply(409, {
        conflictingRequest: {
          message: `Cannot '${name}' instance ${server.id} while it is in vm_state ${server.status.toLowerCase()}`,
        },
      });
    }
    let toHost: string | undefined;
    if (name === 'unshelve' && arg !== null && typeof arg === 'object' && 'host' in arg) {
      if (!atLeast(s.version, '2.91'))
        return reply(400, { badRequest: { message: "'host' was unexpected" } });
      if (!this.admin) return this.forbid(reply, 'os_compute_api:os-shelve:unshelve_to_host');
      toHost = String((arg as { host: string }).host);
    }
    server.task = move[1];
    this.touch(server);
    this.later(server, () => {
      server.status = move[2];
      server.task = null;
      if (move[2] === 'SHELVED_OFFLOADED') server.host = null;
      if (name === 'unshelve') server.host = toHost ?? HOSTS[this.next++ % HOSTS.length]!;
    });
    reply(202);
  }

  private view(v: FakeServer) {
    return {
      id: v.id,
      status: v.status,
      tenant_id: PROJECT,
      hostId: v.host ? hostId(v.host) : '',
      ...(this.admin ? { 'OS-EXT-SRV-ATTR:host': v.host } : {}),
      'OS-EXT-STS:task_state': v.task,
      metadata: v.deleted ? {} : v.metadata,
      tags: v.tags,
      created: new Date(v.created).toISOString(),
      updated: new Date(v.updated).toISOString(),
      ...(v.fault ? { fault: { code: 500, message: v.fault } } : {}),
    };
  }

  private touch(v: FakeServer) {
    v.updated = Date.now();
  }

  /** Finishes a transition after `stepMs`; every change moves `updated`, as Nova's instance.save() does. */
  private later(server: FakeServer, fn: () => void) {
    setTimeout(() => {
      fn();
      server.updated = Date.now();
    }, this.stepMs);
  }
}

const clouds: FakeCloud[] = [];
afterEach(async () => {
  await Promise.all(clouds.splice(0).map((c) => c.stop()));
});

async function fakeCloud(setup: (c: FakeCloud) => void = () => undefined): Promise<FakeCloud> {
  const c = new FakeCloud();
  setup(c);
  await c.start();
  clouds.push(c);
  return c;
}

interface Warned {
  msg: string;
}

function recordingLog(warnings: Warned[]): Logger {
  const log = {
    debug: () => undefined,
    info: () => undefined,
    error: () => undefined,
    warn: (a: unknown, b?: unknown) => {
      warnings.push({ msg: typeof a === 'string' ? a : String(b) });
    },
    child: () => log,
  };
  return log as unknown as Logger;
}

function provider(cloud: FakeCloud, options: Partial<OpenStackProviderOptions> = {}): OpenStackProvider {
  return new OpenStackProvider({
    clock: new SystemClock(),
    credentials: {
      kind: 'application_credential',
      authUrl: `${cloud.url}/v3`,
      credential: { id: 'ac' },
      secret: 's',
    },
    region: 'R1',
    hosts: HOSTS.map((name) => ({ name, capacity: 10 })),
    poll: { initialMs: 10, maxMs: 40 },
    changesSinceMarginMs: 2_000,
    ...options,
  });
}

const launch = (
  p: OpenStackProvider,
  host = 'cmp-2',
  pool = 'web',
  params: Record<string, string> = PARAMS,
) => p.create({ pool, host, params, generation: 3, tags: { [TAGS.purpose]: 'warm' } });

async function running(p: OpenStackProvider, ids: string[]) {
  const res = await p.waitFor(ids, 'running', { timeoutMs: 10_000 });
  expect(res.failed).toEqual([]);
  expect(res.timedOut).toEqual([]);
  return res.ready;
}

describe('create', () => {
  it('pins the launch to its host at 2.74, with tags and metadata for pool, generation and purpose', async () => {
    const cloud = await fakeCloud();
    const p = provider(cloud);
    const inst = await launch(p);
    expect(inst).toMatchObject({ pool: 'web', host: 'cmp-2', status: 'building', busy: true, generation: 3 });
    const [post] = cloud.calls('POST', /\/servers$/);
    expect(post!.version).toBe('2.74');
    const body = (post!.body as { server: Record<string, unknown> }).server;
    expect(body).toMatchObject({
      flavorRef: 'f-tiny',
      imageRef: IMAGE_ID,
      networks: [{ uuid: NET_ID }],
      host: 'cmp-2',
      metadata: {
        [TAGS.pool]: 'web',
        [TAGS.generation]: '3',
        [TAGS.purpose]: 'warm',
        'warmpool:host': 'cmp-2',
      },
    });
    expect(body.tags).toEqual([
      MANAGED_TAG,
      'warmpool:pool=web',
      'warmpool:generation=3',
      'warmpool:purpose=warm',
    ]);
    const [ready] = await running(p, [inst.id]);
    expect(ready).toMatchObject({
      host: 'cmp-2',
      status: 'running',
      busy: false,
      pool: 'web',
      generation: 3,
    });
    expect(ready!.tags[TAGS.purpose]).toBe('warm');
    expect(p.pinned).toBe(true);
  });

  it('on a Nova older than 2.74, pins with the forced-host zone `nova:HOST` (or the template’s zone)', async () => {
    const cloud = await fakeCloud((c) => {
      c.maxVersion = '2.60';
    });
    const p = provider(cloud);
    await launch(p, 'cmp-1');
    await launch(p, 'cmp-1', 'web', { ...PARAMS, availabilityZone: 'az-blue' });
    const posts = cloud.calls('POST', /\/servers$/);
    expect(posts.map((s) => s.version)).toEqual(['2.52', '2.52']);
    expect(
      posts.map((s) => (s.body as { server: Record<string, unknown> }).server.availability_zone),
    ).toEqual(['nova:cmp-1', 'az-blue:cmp-1']);
  });

  it('auto: when Nova refuses pinning (403), warns once and lets the scheduler place, accounting by hostId', async () => {
    const cloud = await fakeCloud((c) => {
      c.admin = false;
    });
    const warnings: Warned[] = [];
    const p = provider(cloud, { log: recordingLog(warnings) });
    const a = await launch(p, 'cmp-1');
    const b = await launch(p, 'cmp-1');
    expect(p.pinned).toBe(false);
    const posts = cloud.calls('POST', /\/servers$/);
    // Pinned once (refused), then unpinned twice: no second try at pinning.
    expect(posts.map((s) => (s.body as { server: Record<string, unknown> }).server.host)).toEqual([
      'cmp-1',
      undefined,
      undefined,
    ]);
    expect(warnings.filter((w) => w.msg.includes('refused to pin')).length).toBe(1);
    expect(warnings[0]!.msg).toContain('compute:servers:create:requested_destination');
    const ready = await running(p, [a.id, b.id]);
    // The scheduler spread them; hostId tells which configured host each stands on, without admin.
    expect(ready.map((r) => r.host).sort()).toEqual(['cmp-1', 'cmp-2']);
    const got = await p.get(b.id);
    expect(HOSTS).toContain(got.host);
  });

  it('pinned: a refusal is a PermissionError that says what to change', async () => {
    const cloud = await fakeCloud((c) => {
      c.admin = false;
    });
    const p = provider(cloud, { placement: 'pinned' });
    const err = await launch(p).catch((e: unknown) => e as Error);
    expect(err).toBeInstanceOf(PermissionError);
    expect((err as Error).message).toContain('placement: pinned needs credentials');
    expect(cloud.calls('POST', /\/servers$/).length).toBe(1);
  });

  it('hostId: never asks for a host', async () => {
    const cloud = await fakeCloud();
    const p = provider(cloud, { placement: 'hostId' });
    await launch(p);
    expect(
      (cloud.calls('POST', /\/servers$/)[0]!.body as { server: Record<string, unknown> }).server.host,
    ).toBe(undefined);
  });

  it('refuses an unknown host and bad params before asking Nova', async () => {
    const cloud = await fakeCloud();
    const p = provider(cloud);
    await expect(launch(p, 'cmp-9')).rejects.toBeInstanceOf(NotFoundError);
    const err = await launch(p, 'cmp-1', 'web', { flavor: 'x', image: 'y', netwrok: NET_ID }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(UnsupportedError);
    expect((err as Error).message).toContain('netwrok: unknown OpenStack launch parameter');
    expect((err as Error).message).toContain('network: required');
    expect(cloud.calls('POST', /\/servers$/)).toEqual([]);
  });

  it('a launch the scheduler cannot place fails the wait with Nova’s fault', async () => {
    const cloud = await fakeCloud();
    const p = provider(cloud);
    const inst = await launch(p, 'cmp-1', 'web', { ...PARAMS, flavor: 'f-huge' });
    const res = await p.waitFor([inst.id], 'running', { timeoutMs: 5_000 });
    expect(res.failed).toEqual([{ id: inst.id, reason: expect.stringContaining('No valid host was found') }]);
    const got = await p.get(inst.id);
    expect(got.status).toBe('error');
    expect(got.fault).toContain('No valid host was found');
  });
});

describe('waitFor', () => {
  it('watches many servers with a few list calls: one tagged listing, then changes-since listings', async () => {
    const cloud = await fakeCloud((c) => {
      c.stepMs = 120;
    });
    const p = provider(cloud, { pageSize: 4 });
    const insts = await Promise.all(Array.from({ length: 10 }, (_, i) => launch(p, HOSTS[i % 2])));
    const before = cloud.seen.length;
    const ready = await running(
      p,
      insts.map((i) => i.id),
    );
    expect(ready.length).toBe(10);
    const during = cloud.seen.slice(before);
    expect(during.filter((s) => /\/servers\/[0-9a-f-]{36}$/.test(s.path))).toEqual([]);
    const lists = during.filter((s) => s.path.endsWith('/servers/detail'));
    expect(lists[0]!.query.get('tags')).toBe(MANAGED_TAG);
    const later = lists.filter((s) => s.query.has('changes-since'));
    expect(later.length).toBeGreaterThan(0);
    for (const s of later) expect(s.query.get('tags')).toBeNull();
    // A handful of rounds, each of 3 pages of 4 at most.
    expect(lists.length).toBeLessThan(40);
  });

  it('reports a deleted server as failed for `running` and ready for `deleted`; get throws NotFoundError', async () => {
    const cloud = await fakeCloud();
    const p = provider(cloud);
    const inst = await launch(p);
    await running(p, [inst.id]);
    await p.delete(inst.id);
    const gone = await p.waitFor([inst.id], 'running', { timeoutMs: 5_000 });
    expect(gone.failed.map((f) => f.id)).toEqual([inst.id]);
    await expect(p.get(inst.id)).rejects.toSatisfy(isNotFound);
    const deleted = await p.waitFor([inst.id], 'deleted', { timeoutMs: 5_000 });
    expect(deleted.ready.map((r) => [r.id, r.status])).toEqual([[inst.id, 'deleted']]);
    expect((await p.list('web')).map((i) => i.id)).not.toContain(inst.id);
    await expect(p.delete(inst.id)).rejects.toSatisfy(isNotFound);
  });

  it('sees a deletion through changes-since (status DELETED), not only through a 404', async () => {
    const cloud = await fakeCloud((c) => {
      c.stepMs = 60;
    });
    const p = provider(cloud);
    const inst = await launch(p);
    await running(p, [inst.id]);
    await p.delete(inst.id);
    const res = await p.waitFor([inst.id], 'deleted', { timeoutMs: 5_000 });
    expect(res.ready.map((r) => r.id)).toEqual([inst.id]);
    // Metadata of the server as last seen, though the DELETED listing has none.
    expect(res.ready[0]!.pool).toBe('web');
  });

  it('follows a server its listings do not show (another project’s) by asking for it until it is gone', async () => {
    const cloud = await fakeCloud((c) => {
      c.stepMs = 300;
    });
    const p = provider(cloud);
    const inst = await launch(p);
    await running(p, [inst.id]);
    cloud.servers.get(inst.id)!.foreign = true;
    await p.delete(inst.id);
    const before = cloud.seen.length;
    const res = await p.waitFor([inst.id], 'deleted', { timeoutMs: 10_000 });
    expect(res.ready.map((r) => r.id)).toEqual([inst.id]);
    const gets = cloud.seen.slice(before).filter((s) => s.path.endsWith(`/servers/${inst.id}`));
    // Still deleting at the first ask; gone (404) at a later one.
    expect(gets.length).toBeGreaterThanOrEqual(2);
  });

  it('asks by id for a server the listings stopped showing, rather than waiting to the deadline', async () => {
    const cloud = await fakeCloud((c) => {
      c.stepMs = 100;
    });
    const p = provider(cloud, { staleAfterMs: 200 });
    const inst = await launch(p);
    await running(p, [inst.id]);
    // A wait that first sees the server, which then drops out of every listing (as a purged deletion does).
    const waiting = p.waitFor([inst.id], 'deleted', { timeoutMs: 10_000 });
    await new Promise((r) => setTimeout(r, 50));
    cloud.servers.get(inst.id)!.foreign = true;
    await p.delete(inst.id);
    const started = Date.now();
    const res = await waiting;
    expect(res.ready.map((r) => r.id)).toEqual([inst.id]);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('times out what does not arrive, and aborts on the signal', async () => {
    const cloud = await fakeCloud((c) => {
      c.stepMs = 5_000;
    });
    const p = provider(cloud);
    const inst = await launch(p);
    const res = await p.waitFor([inst.id], 'running', { timeoutMs: 50 });
    expect(res.timedOut).toEqual([inst.id]);
    const ctl = new AbortController();
    setTimeout(() => ctl.abort(new Error('stop')), 30);
    await expect(p.waitFor([inst.id], 'running', { timeoutMs: 5_000, signal: ctl.signal })).rejects.toThrow(
      'stop',
    );
  });
});

describe('sleep and wake', () => {
  it('maps each warm state to its Nova action and back', async () => {
    const cloud = await fakeCloud();
    const p = provider(cloud);
    const inst = await launch(p);
    await running(p, [inst.id]);
    for (const state of ['paused', 'suspended', 'stopped', 'shelved'] as const) {
      await p.sleep(inst.id, state);
      const slept = await p.waitFor([inst.id], state, { timeoutMs: 5_000 });
      expect(slept.ready[0]?.status).toBe(state);
      await p.wake(inst.id, state);
      const [awake] = await running(p, [inst.id]);
      expect(awake!.host).toBe('cmp-2');
    }
    const actions = cloud
      .calls('POST', /\/action$/)
      .map((s) => Object.keys(s.body as Record<string, unknown>)[0]);
    expect(actions).toEqual([
      'pause',
      'unpause',
      'suspend',
      'resume',
      'os-stop',
      'os-start',
      'shelve',
      'unshelve',
    ]);
    // Back onto the host it was launched for, at 2.91.
    const unshelve = cloud.calls('POST', /\/action$/).at(-1)!;
    expect(unshelve.version).toBe('2.91');
    expect(unshelve.body).toEqual({ unshelve: { host: 'cmp-2' } });
    // `running` (pre-booted) asks nothing.
    await p.sleep(inst.id, 'running');
    await p.wake(inst.id, 'running');
    expect(cloud.calls('POST', /\/action$/).length).toBe(8);
  });

  it('unshelves without a host where Nova is older than 2.91', async () => {
    const cloud = await fakeCloud((c) => {
      c.maxVersion = '2.79';
    });
    const p = provider(cloud);
    const inst = await launch(p);
    await running(p, [inst.id]);
    await p.sleep(inst.id, 'shelved');
    await p.waitFor([inst.id], 'shelved', { timeoutMs: 5_000 });
    await p.wake(inst.id, 'shelved');
    const last = cloud.calls('POST', /\/action$/).at(-1)!;
    expect(last.body).toEqual({ unshelve: null });
    expect(last.version).toBe('2.52');
  });

  it('an action in the wrong state is ConflictError; hibernation is unsupported', async () => {
    const cloud = await fakeCloud((c) => {
      c.stepMs = 200;
    });
    const p = provider(cloud);
    const inst = await launch(p);
    await expect(p.sleep(inst.id, 'paused')).rejects.toBeInstanceOf(ConflictError);
    await running(p, [inst.id]);
    await expect(p.wake(inst.id, 'paused')).rejects.toBeInstanceOf(ConflictError);
    await expect(p.wake(inst.id, 'stopped')).rejects.toBeInstanceOf(ConflictError);
    await expect(p.sleep(inst.id, 'hibernated')).rejects.toBeInstanceOf(UnsupportedError);
  });
});

describe('hosts and listings', () => {
  it('admin: counts servers per host (shelved hold no slot) and gives a down compute no room', async () => {
    const cloud = await fakeCloud();
    const p = provider(cloud);
    const a = await launch(p, 'cmp-1');
    const b = await launch(p, 'cmp-2');
    const c = await launch(p, 'cmp-2');
    await running(p, [a.id, b.id, c.id]);
    await p.sleep(c.id, 'shelved');
    await p.waitFor([c.id], 'shelved', { timeoutMs: 5_000 });
    expect(await p.hosts()).toEqual([
      { name: 'cmp-1', capacity: 10, used: 1 },
      { name: 'cmp-2', capacity: 10, used: 1 },
    ]);
    cloud.down.add('cmp-1');
    expect(await p.hosts()).toEqual([
      { name: 'cmp-1', capacity: 1, used: 1 },
      { name: 'cmp-2', capacity: 10, used: 1 },
    ]);
  });

  it('without admin: configured capacity, servers located by hostId, one warning', async () => {
    const cloud = await fakeCloud((c) => {
      c.admin = false;
    });
    const warnings: Warned[] = [];
    const p = provider(cloud, { placement: 'hostId', log: recordingLog(warnings) });
    const a = await launch(p);
    const b = await launch(p);
    await running(p, [a.id, b.id]);
    expect(await p.hosts()).toEqual([
      { name: 'cmp-1', capacity: 10, used: 1 },
      { name: 'cmp-2', capacity: 10, used: 1 },
    ]);
    // hostId mode never reads os-hypervisors.
    expect(cloud.calls('GET', /os-hypervisors/)).toEqual([]);
    const auto = provider(cloud, { log: recordingLog(warnings) });
    await auto.hosts();
    await auto.hosts();
    expect(warnings.filter((w) => w.msg.includes('os-hypervisors')).length).toBe(1);
  });

  it('lists a pool by its tag, a long pool name by a hashed tag, reading values back from metadata', async () => {
    const cloud = await fakeCloud();
    const p = provider(cloud);
    const long = `pool-${'x'.repeat(55)}`;
    const a = await launch(p, 'cmp-1', 'web');
    const b = await launch(p, 'cmp-1', long);
    const listed = await p.list(long);
    expect(listed.map((i) => [i.id, i.pool])).toEqual([[b.id, long]]);
    expect((await p.list('web')).map((i) => i.id)).toEqual([a.id]);
    const tag = novaTag(TAGS.pool, long);
    expect(tag.length).toBeLessThanOrEqual(60);
    expect(tag).toMatch(/^warmpool:pool#[0-9a-f]{24}$/);
    expect(
      cloud
        .calls('GET', /servers\/detail/)
        .at(-2)!
        .query.get('tags'),
    ).toBe(tag);
  });
});

describe('status mapping', () => {
  const cases: [string, string | null, string, boolean][] = [
    ['BUILD', 'spawning', 'building', true],
    ['ACTIVE', null, 'running', false],
    ['ACTIVE', 'pausing', 'running', true],
    ['PAUSED', null, 'paused', false],
    ['SUSPENDED', null, 'suspended', false],
    ['SHELVED', null, 'shelved', false],
    ['SHELVED', 'shelving_offloading', 'shelved', true],
    ['SHELVED_OFFLOADED', null, 'shelved', false],
    ['SHUTOFF', null, 'stopped', false],
    ['SHUTOFF', 'powering-on', 'stopped', true],
    ['ERROR', null, 'error', false],
    ['DELETED', null, 'deleted', false],
    ['SOFT_DELETED', null, 'deleted', false],
    ['ACTIVE', 'deleting', 'deleted', true],
    ['REBOOT', 'rebooting', 'running', true],
    ['UNKNOWN', null, 'error', true],
  ];
  it.each(cases)('%s (task %s) is %s, busy %s', (status, task, want, busy) => {
    expect(novaStatusOf({ status, 'OS-EXT-STS:task_state': task })).toEqual({ status: want, busy });
  });

  it('novaTag keeps valid tags readable and hashes what Nova would refuse', () => {
    expect(novaTag('warmpool:purpose', 'warm')).toBe('warmpool:purpose=warm');
    expect(novaTag('team', 'a/b')).toMatch(/^team#[0-9a-f]{24}$/);
    expect(novaTag('a,b', 'c')).toMatch(/^wp#[0-9a-f]{24}$/);
  });
});
