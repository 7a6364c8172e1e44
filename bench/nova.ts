/**
 * bench:nova: the three figures that matter on a real OpenStack, measured on the cloud the OS_* environment
 * names (as `infra/openstack/up` prints it), through warmpool's own OpenStack adapter and pool code:
 * - coldMs: N servers launched at once until all are ACTIVE (what a scale-out costs without a pool);
 * - warmFillMs: a warm pool of N filled (launch, then pause) until all are PAUSED;
 * - promoteMs / promoteP99Ms: promotion of those N, from the decision until all (and the 99th percentile
 *   of each) are ACTIVE and in service.
 *
 *   npm run bench:nova -- --instances 50 [--hosts wp-compute-1,wp-compute-2] [--state paused] [--json]
 *
 * Image, flavor and hosts come from WARMPOOL_OS_IMAGE, WARMPOOL_OS_FLAVOR and WARMPOOL_OS_HOSTS unless
 * given as flags. Every server it made is deleted before it exits, failed runs included. The last line
 * printed is one JSON object (with --json, the only line on stdout; progress goes to stderr).
 */
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { SystemClock } from '../lib/clock/index.js';
import { parseConfig } from '../lib/config/index.js';
import { WARM_STATES, type WarmState } from '../lib/domain/index.js';
import { MemoryEventSink } from '../lib/events/index.js';
import { silentLogger } from '../lib/log/index.js';
import { type PoolContext, promote, refill } from '../lib/pool/index.js';
import { isNotFound, loadOpenStackCredentials, OpenStackProvider } from '../lib/providers/index.js';
import { quantile } from '../lib/sim/index.js';
import { MemoryStore } from '../lib/store/index.js';

const POOL = 'bench-nova';
const TIMEOUT_MS = 30 * 60_000;

function fail(message: string): never {
  process.stderr.write(`bench:nova: ${message}\n`);
  process.exit(2);
}

const { values } = parseArgs({
  options: {
    instances: { type: 'string', default: '50' },
    hosts: { type: 'string' },
    image: { type: 'string' },
    flavor: { type: 'string' },
    state: { type: 'string', default: 'paused' },
    json: { type: 'boolean', default: false },
  },
});
const instances = Number(values.instances);
if (!Number.isInteger(instances) || instances < 1)
  fail(`--instances must be a whole number ≥ 1 (got ${values.instances})`);
const hostNames = (values.hosts ?? process.env.WARMPOOL_OS_HOSTS ?? '').split(',').filter(Boolean);
const image = values.image ?? process.env.WARMPOOL_OS_IMAGE;
const flavor = values.flavor ?? process.env.WARMPOOL_OS_FLAVOR;
if (hostNames.length === 0) fail('name the compute hosts: --hosts a,b or WARMPOOL_OS_HOSTS');
if (!image || !flavor)
  fail('name the image and flavor: --image/--flavor or WARMPOOL_OS_IMAGE/WARMPOOL_OS_FLAVOR');
if (!process.env.OS_AUTH_URL && !process.env.OS_CLOUD) {
  fail('no cloud: set the OS_* variables (infra/openstack/up prints them) or OS_CLOUD');
}
const state = values.state as WarmState;
if (!(WARM_STATES as readonly string[]).includes(state))
  fail(`--state must be one of ${WARM_STATES.join(', ')}`);

const progress = (msg: string) => process.stderr.write(`bench:nova: ${msg}\n`);
const round = (n: number) => Math.round(n);

const clock = new SystemClock();
const loaded = loadOpenStackCredentials();
const perHost = Math.ceil(instances / hostNames.length);
const provider = new OpenStackProvider({
  clock,
  credentials: loaded.credentials,
  ...(loaded.region ? { region: loaded.region } : {}),
  ...(loaded.interface ? { interface: loaded.interface } : {}),
  hosts: hostNames.map((name) => ({ name, capacity: perHost * 3 + 10 })),
  maxConcurrency: 20,
});
const params = { image, flavor, network: 'none' };
const spec = parseConfig(
  {
    // The pool code only reads the spec; the cloud is the OpenStack adapter above.
    providers: { nova: { kind: 'sim', hosts: hostNames } },
    pools: [
      {
        name: POOL,
        provider: 'nova',
        template: { params },
        warm: { state, perHost: { min: 0, target: perHost, max: perHost }, hosts: hostNames },
        active: { min: 0, max: instances * 2 },
        capacity: { metric: 'load', perInstance: 1 },
        promotion: { concurrency: 64, wakeTimeoutSeconds: 600 },
        refill: { concurrency: 64, maxLaunchesPerHost: 64, bootTimeoutSeconds: 1800 },
      },
    ],
  },
  'bench:nova',
).pools[0]!;
const ctx: PoolContext = {
  spec,
  provider,
  store: new MemoryStore(clock),
  clock,
  events: new MemoryEventSink(),
  log: silentLogger(),
  owner: 'bench-nova',
};

/** Deletes every server of the bench's pool and waits until they are gone. */
async function cleanUp(): Promise<void> {
  const left = await provider.list(POOL);
  if (left.length === 0) return;
  progress(`deleting ${left.length} servers`);
  await Promise.all(
    left.map((s) =>
      provider.delete(s.id).catch((err: unknown) => {
        if (!isNotFound(err)) throw err;
      }),
    ),
  );
  await provider.waitFor(
    left.map((s) => s.id),
    'deleted',
    { timeoutMs: TIMEOUT_MS },
  );
}

async function cold(): Promise<number> {
  progress(`cold: launching ${instances} servers on ${hostNames.join(', ')}`);
  const start = performance.now();
  const made = await Promise.all(
    Array.from({ length: instances }, (_, i) =>
      provider.create({ pool: POOL, host: hostNames[i % hostNames.length]!, params, generation: 1 }),
    ),
  );
  const r = await provider.waitFor(
    made.map((s) => s.id),
    'running',
    { timeoutMs: TIMEOUT_MS },
  );
  const ms = performance.now() - start;
  if (r.ready.length !== instances) {
    throw new Error(
      `cold: ${r.ready.length} of ${instances} ACTIVE (failed ${r.failed.length}, timed out ${r.timedOut.length})`,
    );
  }
  progress(`cold: all ${instances} ACTIVE after ${round(ms)} ms`);
  return ms;
}

async function warmFill(): Promise<number> {
  progress(`warm fill: ${perHost} ${state} per host`);
  const start = performance.now();
  const r = await refill(ctx);
  const ms = performance.now() - start;
  if (r.warm.length < instances) {
    throw new Error(
      `warm fill: ${r.warm.length} of ${perHost * hostNames.length} warm (failed ${r.failed.length})`,
    );
  }
  progress(`warm fill: ${r.warm.length} ${state} after ${round(ms)} ms`);
  return ms;
}

async function promotion(): Promise<{ ms: number; p99: number }> {
  progress(`promote: ${instances} from the warm pool`);
  const start = clock.now();
  const r = await promote(ctx, instances, { coldLaunch: false, reason: 'bench' });
  if (r.promoted.length !== instances)
    throw new Error(`promote: ${r.promoted.length} of ${instances} in service`);
  const lat = r.ready.map((x) => x.at - start).sort((a, b) => a - b);
  const ms = lat[lat.length - 1]!;
  progress(
    `promote: all ${instances} ACTIVE after ${round(ms)} ms (controller overhead ${round(r.overheadMs)} ms)`,
  );
  return { ms, p99: quantile(lat, 0.99) };
}

let exit = 0;
try {
  await cleanUp();
  const coldMs = await cold();
  await cleanUp();
  const warmFillMs = await warmFill();
  const p = await promotion();
  const result = {
    instances,
    hosts: hostNames.length,
    state,
    coldMs: round(coldMs),
    warmFillMs: round(warmFillMs),
    promoteMs: round(p.ms),
    promoteP99Ms: round(p.p99),
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
} catch (err) {
  process.stderr.write(`bench:nova: ${err instanceof Error ? err.message : String(err)}\n`);
  exit = 1;
} finally {
  await cleanUp().catch((err: unknown) =>
    process.stderr.write(`bench:nova: clean-up failed: ${String(err)}\n`),
  );
}
process.exit(exit);
