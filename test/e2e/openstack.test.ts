/**
 * warmpool end to end on a real OpenStack (the Nova of infra/openstack/up): a pool configured in YAML form,
 * its provider built from the OS_* environment as the runtime builds it, fills its warm pool (paused
 * servers) across both compute hosts; a burst of load promotes from it; the refill brings the pool back.
 * What Nova itself reports is checked at each step, not only warmpool's own records.
 *
 *   infra/openstack/up && set -a && . .infra/openstack/env && set +a && npx vitest run test/e2e/openstack.test.ts
 *
 * Without that environment the file fails, saying so (see test/contract/provider.openstack.test.ts).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { SystemClock } from '../../lib/clock/index.js';
import { parseConfig } from '../../lib/config/index.js';
import { Controller } from '../../lib/controller/index.js';
import { MemoryEventSink } from '../../lib/events/index.js';
import { silentLogger } from '../../lib/log/index.js';
import { type CloudProvider, isNotFound } from '../../lib/providers/index.js';
import { buildProviders } from '../../lib/runtime/providers.js';
import { MemoryStore } from '../../lib/store/index.js';
import { adminOpenStackEnv, needsOpenStack, openStackHosts } from '../support/openstack-env.js';

const env = process.env;
const POOL = `e2e-${process.pid}`;
const TIMEOUT = 15 * 60_000;

async function until<T>(
  what: string,
  read: () => Promise<T>,
  ok: (v: T) => boolean,
  ms = 5 * 60_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  let last: T = await read();
  while (!ok(last)) {
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}; last seen ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 1_000));
    last = await read();
  }
  return last;
}

if (needsOpenStack('warmpool on a real OpenStack', 'test/e2e/openstack.test.ts')) {
  describe('warmpool on a real OpenStack', () => {
    const hosts = openStackHosts(env);
    const { config, pools } = parseConfig(
      {
        providers: {
          nova: {
            kind: 'openstack',
            hosts: hosts.map((name) => ({ name, capacity: 20 })),
            placement: 'pinned',
          },
        },
        pools: [
          {
            name: POOL,
            provider: 'nova',
            template: {
              params: { image: env.WARMPOOL_OS_IMAGE!, flavor: env.WARMPOOL_OS_FLAVOR!, network: 'none' },
            },
            warm: { state: 'paused', perHost: { min: 0, target: 2, max: 4 }, hosts },
            active: { min: 0, max: 10 },
            capacity: { metric: 'load', perInstance: 1, aggregate: 'max', intervalSeconds: 5 },
            forecast: { kind: 'none' },
          },
        ],
      },
      'e2e',
    );
    const clock = new SystemClock();
    // Pinning a launch to a host is admin-only under Nova's default policy: the admin's password.
    const providers = buildProviders(config, clock, { env: adminOpenStackEnv(env) });
    const nova: CloudProvider = providers.get('nova')!;
    const events = new MemoryEventSink();
    const store = new MemoryStore(clock);
    const controller = new Controller({
      pools,
      providers,
      store,
      clock,
      events,
      log: silentLogger(),
    });
    const status = async () => (await controller.status())[0]!;
    /** What Nova says: servers of the pool by status and by host. */
    const novaView = async () => {
      const servers = await nova.list(POOL);
      const by = (key: 'status' | 'host', status?: string) => {
        const counts: Record<string, number> = {};
        for (const s of servers)
          if (!status || s.status === status) counts[s[key]] = (counts[s[key]] ?? 0) + 1;
        return counts;
      };
      return { status: by('status'), pausedByHost: by('host', 'paused') };
    };

    afterAll(async () => {
      await controller.stop();
      const left = await nova.list(POOL);
      await Promise.all(
        left.map((s) =>
          nova.delete(s.id).catch((err: unknown) => {
            if (!isNotFound(err)) throw err;
          }),
        ),
      );
      await nova.waitFor(
        left.map((s) => s.id),
        'deleted',
        { timeoutMs: TIMEOUT },
      );
    }, TIMEOUT);

    it('fills the warm pool across both compute hosts, paused in Nova', { timeout: TIMEOUT }, async () => {
      await controller.tick();
      const s = await until('4 warm', status, (x) => x.warm === 4);
      expect(s.hosts.map((h) => [h.name, h.warm])).toEqual(hosts.map((h) => [h, 2]));
      expect(await novaView()).toEqual({
        status: { paused: 4 },
        pausedByHost: Object.fromEntries(hosts.map((h) => [h, 2])),
      });
    });

    it('promotes a burst from the warm pool: ACTIVE in Nova, warm hits only', {
      timeout: TIMEOUT,
    }, async () => {
      const before = Date.now();
      await controller.ingest([{ pool: POOL, metric: 'load', value: 3, ts: clock.now() }]);
      const s = await until('3 active', status, (x) => x.active === 3);
      const tookMs = Date.now() - before;
      expect(s.desired).toBe(3);
      const promoted = events.of('promoted');
      expect(promoted.map((e) => [e.data.warmHits, e.data.coldMisses])).toEqual([[3, 0]]);
      // The three warmpool put in service are ACTIVE in Nova (the refill's new launches may be too, briefly,
      // before they are paused, so Nova's running count alone would not say which).
      const active = (await store.list(POOL)).filter((r) => r.state === 'active');
      expect(active).toHaveLength(3);
      for (const rec of active) expect((await nova.get(rec.id)).status).toBe('running');
      // An unpause, not a boot: well under what the cold launches of the fill took.
      expect(tookMs).toBeLessThan(60_000);
    });

    it('refills the pool back to its target on both hosts', { timeout: TIMEOUT }, async () => {
      const s = await until('the pool back to 4 warm', status, (x) => x.warm === 4 && x.booting === 0);
      expect(s.active).toBe(3);
      expect(s.hosts.map((h) => h.warm)).toEqual([2, 2]);
      const view = await novaView();
      expect(view.status).toEqual({ running: 3, paused: 4 });
      expect(view.pausedByHost).toEqual(Object.fromEntries(hosts.map((h) => [h, 2])));
      expect(events.of('refilled').length).toBeGreaterThanOrEqual(2);
    });
  });
}
