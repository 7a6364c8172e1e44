/**
 * The CloudProvider contract on the OpenStack adapter, against the real Nova that infra/openstack/up runs
 * (Debian's Nova with the fake virt driver, two computes, Keystone, Placement, Glance), and the checks of
 * issue 5 that only a real cloud proves: pinned launches land on the host asked for (admin credentials);
 * member credentials are refused pinning once and their servers are still located, by hostId; a token
 * revoked in Keystone is replaced transparently on the 401; `waitFor` on several servers is list calls.
 *
 * Needs the environment `infra/openstack/up` prints (OS_* of the member's application credential,
 * WARMPOOL_OS_ADMIN_*, WARMPOOL_OS_IMAGE, WARMPOOL_OS_FLAVOR, WARMPOOL_OS_HOSTS):
 *   infra/openstack/up && set -a && . .infra/openstack/env && set +a && npx vitest run test/contract/provider.openstack.test.ts
 * Without it this file fails (one test, saying so) instead of skipping: a contract that silently does not
 * run proves nothing. The other test files do not depend on it.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { SystemClock } from '../../lib/clock/index.js';
import type { Logger } from '../../lib/log/index.js';
import {
  type CloudProvider,
  Http,
  hostIdOf,
  isConflict,
  isNotFound,
  KeystoneSession,
  loadOpenStackCredentials,
  NovaClient,
  OpenStackProvider,
  type OpenStackProviderOptions,
  TAGS,
} from '../../lib/providers/index.js';
import { adminOpenStackEnv, needsOpenStack, openStackHosts } from '../support/openstack-env.js';
import { describeProviderContract } from './provider.contract.js';

const TEN_MINUTES = 10 * 60_000;

if (
  needsOpenStack('CloudProvider contract: openstack (real Nova)', 'test/contract/provider.openstack.test.ts')
) {
  describeRealNova();
}

function describeRealNova(): void {
  const env = process.env;
  const hosts = openStackHosts(env);
  const template = {
    flavor: env.WARMPOOL_OS_FLAVOR!,
    image: env.WARMPOOL_OS_IMAGE!,
    network: env.WARMPOOL_OS_NETWORK ?? 'none',
  };
  const adminCredentials = loadOpenStackCredentials({ env: adminOpenStackEnv(env) }).credentials;
  const member = loadOpenStackCredentials({ env });
  const region = env.OS_REGION_NAME;
  const run = `${process.pid.toString(36)}${Date.now().toString(36).slice(-5)}`;

  function openstack(options: Partial<OpenStackProviderOptions> = {}): OpenStackProvider {
    return new OpenStackProvider({
      clock: new SystemClock(),
      credentials: adminCredentials,
      ...(region ? { region } : {}),
      hosts: hosts.map((name) => ({ name, capacity: 50 })),
      placement: 'pinned',
      ...options,
    });
  }

  /** The provider with the pool template the contract does not give (it launches with `params: {}`). */
  function withTemplate(p: OpenStackProvider): CloudProvider {
    return {
      kind: p.kind,
      warmStates: p.warmStates,
      hosts: () => p.hosts(),
      create: (req) => p.create({ ...req, params: { ...template, ...req.params } }),
      sleep: (id, to) => p.sleep(id, to),
      wake: (id, from) => p.wake(id, from),
      delete: (id) => p.delete(id),
      get: (id) => p.get(id),
      list: (pool) => p.list(pool),
      waitFor: (ids, want, options) => p.waitFor(ids, want, options),
    };
  }

  let harnessRun = 0;
  describeProviderContract('openstack (real Nova, admin credentials, pinned)', async () => ({
    provider: withTemplate(openstack()),
    hosts,
    pool: `ct-${run}-${harnessRun++}`,
    run: (fn) => fn(),
  }));

  describe('openstack issue 5 (real Nova)', () => {
    const created: { provider: OpenStackProvider; id: string }[] = [];
    const admin = openstack();

    afterAll(async () => {
      await Promise.all(
        created.map(({ provider, id }) =>
          provider.delete(id).catch((err: unknown) => {
            if (!isNotFound(err) && !isConflict(err)) throw err;
          }),
        ),
      );
      await admin.waitFor(
        created.map((c) => c.id),
        'deleted',
        { timeoutMs: 5 * 60_000 },
      );
    }, TEN_MINUTES);

    async function launch(provider: OpenStackProvider, pool: string, host: string) {
      const inst = await provider.create({ pool, host, params: template, generation: 1 });
      created.push({ provider, id: inst.id });
      return inst;
    }

    /** The server as the admin sees it, straight from Nova. */
    async function asAdminSees(id: string) {
      const http = new Http({ timeoutMs: 30_000, maxConcurrency: 4 });
      const keystone = new KeystoneSession({ credentials: adminCredentials, clock: new SystemClock(), http });
      const nova = new NovaClient({ keystone, interface: 'public', ...(region ? { region } : {}) });
      return nova.getServer(id);
    }

    it('pinned launches land on the host asked for, on every host', { timeout: TEN_MINUTES }, async () => {
      const pool = `pin-${run}`;
      const insts = await Promise.all(hosts.map((host) => launch(admin, pool, host)));
      const res = await admin.waitFor(
        insts.map((i) => i.id),
        'running',
        { timeoutMs: 5 * 60_000 },
      );
      expect(res.failed).toEqual([]);
      expect(res.ready.length).toBe(hosts.length);
      for (const [i, host] of hosts.entries()) {
        const seen = await asAdminSees(insts[i]!.id);
        expect(seen['OS-EXT-SRV-ATTR:host'], `server on ${host}`).toBe(host);
        expect(seen.hostId).toBe(hostIdOf(host, seen.tenant_id!));
        expect((await admin.get(insts[i]!.id)).host).toBe(host);
      }
      expect(admin.pinned).toBe(true);
    });

    it('member credentials (auto): pinning is refused once, the scheduler places, hostId names the host', {
      timeout: TEN_MINUTES,
    }, async () => {
      const warnings: string[] = [];
      const log = {
        debug: () => undefined,
        info: () => undefined,
        error: () => undefined,
        warn: (a: unknown, b?: unknown) => warnings.push(typeof a === 'string' ? a : String(b)),
        child: () => log,
      } as unknown as Logger;
      const p = openstack({
        credentials: member.credentials,
        placement: 'auto',
        log,
        ...(member.region ? { region: member.region } : {}),
      });
      const pool = `auto-${run}`;
      const a = await launch(p, pool, hosts[0]!);
      const b = await launch(p, pool, hosts[0]!);
      expect(p.pinned).toBe(false);
      expect(warnings.filter((w) => w.includes('refused to pin')).length).toBe(1);
      const res = await p.waitFor([a.id, b.id], 'running', { timeoutMs: 5 * 60_000 });
      expect(res.failed).toEqual([]);
      for (const inst of res.ready) {
        // The member cannot see host names; hostId tells it which configured host the scheduler chose.
        const truth = (await asAdminSees(inst.id))['OS-EXT-SRV-ATTR:host'];
        expect(inst.host).toBe(truth);
        expect(hosts).toContain(inst.host);
      }
      const capacity = await p.hosts();
      const used = capacity.reduce((n, h) => n + h.used, 0);
      expect(used).toBeGreaterThanOrEqual(2);
      const listed = await p.list(pool);
      expect(listed.map((i) => i.id).sort()).toEqual([a.id, b.id].sort());
      for (const i of listed) expect(i.tags[TAGS.pool]).toBe(pool);
    });

    it('a token revoked in Keystone is replaced transparently on the next call', {
      timeout: TEN_MINUTES,
    }, async () => {
      const p = openstack({ credentials: member.credentials, placement: 'hostId' });
      const revoked = await p.keystone.token();
      // Revoke it with the admin's token (DELETE /v3/auth/tokens), before Nova has ever seen it cached.
      const adminToken = await admin.keystone.token();
      const identity = admin.keystone.identityUrl;
      const del = await fetch(`${identity}/auth/tokens`, {
        method: 'DELETE',
        headers: { 'X-Auth-Token': adminToken.value, 'X-Subject-Token': revoked.value },
      });
      expect(del.status).toBe(204);
      const check = await fetch(`${identity}/auth/tokens`, {
        headers: { 'X-Auth-Token': adminToken.value, 'X-Subject-Token': revoked.value },
      });
      expect(check.status).toBe(404);

      const listed = await p.list(`revoke-${run}`);
      expect(listed).toEqual([]);
      expect(p.keystone.authentications).toBe(2);
      expect((await p.keystone.token()).value).not.toBe(revoked.value);
    });

    it('waitFor on several servers is list calls, not a poll per server', {
      timeout: TEN_MINUTES,
    }, async () => {
      const requests: string[] = [];
      const counting: typeof fetch = (input, init) => {
        requests.push(`${init?.method ?? 'GET'} ${new URL(String(input)).pathname}`);
        return fetch(input, init);
      };
      const p = openstack({ fetch: counting });
      const pool = `wait-${run}`;
      const insts = await Promise.all(
        Array.from({ length: 4 }, (_, i) => launch(p, pool, hosts[i % hosts.length]!)),
      );
      const before = requests.length;
      const res = await p.waitFor(
        insts.map((i) => i.id),
        'running',
        { timeoutMs: 5 * 60_000 },
      );
      expect(res.ready.length).toBe(4);
      const during = requests.slice(before);
      expect(during.filter((r) => /\/servers\/[0-9a-f-]{36}$/.test(r))).toEqual([]);
      expect(during.every((r) => r.endsWith('/servers/detail'))).toBe(true);
    });
  });
}
