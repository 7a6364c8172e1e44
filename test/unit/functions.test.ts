import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { handler as decide } from '../../functions/decide.js';
import { handler as reconcile } from '../../functions/reconcile.js';
import { handler as refill } from '../../functions/refill.js';
import { handler as status } from '../../functions/status.js';
import { handler as webhook } from '../../functions/webhook.js';
import { lambdaController, resetLambdaController } from '../../lib/runtime/index.js';

// The Lambda handlers on the embedded default, its sim cloud sped up so that launches finish in ms.
describe('functions (Lambda handlers)', () => {
  const saved = { ...process.env };

  beforeEach(() => {
    process.env.WARMPOOL__providers__sim__speed = '2000';
    process.env.WARMPOOL_LOG_LEVEL = 'silent';
    delete process.env.WARMPOOL_CONFIG;
    // The embedded default in memory: a Redis of the test run would share state between tests.
    delete process.env.REDIS_URL;
    delete process.env.REDIS_CLUSTER_NODES;
    resetLambdaController();
  });

  afterEach(async () => {
    await (await lambdaController()).stop();
    resetLambdaController();
    process.env = { ...saved };
  });

  it('status answers the pools as JSON over the HTTP API', async () => {
    const res = await status();
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('application/json');
    const body = JSON.parse(res.body) as { pools: { name: string; hosts: { name: string }[] }[] };
    expect(body.pools.map((p) => p.name)).toEqual(['web', 'batch']);
    expect(body.pools[1]!.hosts.map((h) => h.name)).toEqual([
      'sim-host-06',
      'sim-host-07',
      'sim-host-08',
      'sim-host-09',
      'sim-host-10',
    ]);
  });

  it('refill fills the named pool to its warm target and waits until warm', async () => {
    expect(await refill({ pool: 'batch' })).toEqual({ batch: { launched: 5, warm: 5 } });
    const body = JSON.parse((await status()).body) as { pools: { name: string; warm: number }[] };
    expect(body.pools.find((p) => p.name === 'batch')!.warm).toBe(5);
    expect(body.pools.find((p) => p.name === 'web')!.warm).toBe(0);
  });

  it('refill refuses a bad event naming the field, and an unknown pool', async () => {
    await expect(refill({ pool: 5 })).rejects.toThrow(/invalid refill event: pool: /);
    await expect(refill({ pool: 'nope' })).rejects.toThrow('unknown pool "nope"');
    const body = JSON.parse((await status()).body) as { pools: { booting: number; warm: number }[] };
    expect(body.pools.every((p) => p.booting === 0 && p.warm === 0)).toBe(true);
  });

  it('decide runs one decision round and reconcile one reconcile, over every pool', async () => {
    expect(await decide()).toEqual({ pools: ['web', 'batch'] });
    const body = JSON.parse((await status()).body) as {
      pools: { name: string; serving: number; warm: number }[];
    };
    // With no metric yet, each pool serves its active minimum (web 2, batch 1) and fills its warm pool.
    expect(body.pools.map((p) => [p.name, p.serving, p.warm])).toEqual([
      ['web', 2, 20],
      ['batch', 1, 5],
    ]);
    expect(await reconcile()).toEqual({ pools: ['web', 'batch'] });
  });

  it('webhook takes a generic scale-out with the bearer token, and refuses a wrong one without a change', async () => {
    process.env.WARMPOOL_WEBHOOK_TOKEN = 'lambda-token';
    const body = JSON.stringify({ pool: 'batch', action: 'scale_out', count: 3 });
    const refused = await webhook({
      rawPath: '/webhooks/generic',
      headers: { Authorization: 'Bearer wrong' },
      body,
    });
    expect(refused.statusCode).toBe(401);
    expect(refused.body).not.toContain('lambda-token');
    const ok = await webhook({
      rawPath: '/webhooks/generic',
      headers: { Authorization: 'Bearer lambda-token' },
      body: Buffer.from(body).toString('base64'),
      isBase64Encoded: true,
    });
    expect(ok.statusCode).toBe(202);
    expect(JSON.parse(ok.body)).toEqual({
      decisions: [{ pool: 'batch', key: 'generic', action: 'hold_by', desired: 4 }],
    });
    expect((await webhook({ rawPath: '/webhooks/nope', body })).statusCode).toBe(404);
  });
});
