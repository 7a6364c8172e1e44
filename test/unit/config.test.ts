import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ConfigError,
  embeddedConfig,
  isConfigError,
  loadConfig,
  PROVIDER_WARM_STATES,
  parseConfig,
  parseConfigText,
  simHosts,
} from '../../lib/config/index.js';
import { WARM_STATES } from '../../lib/domain/index.js';

const EXAMPLE = fileURLToPath(new URL('../../config/warmpool.example.yaml', import.meta.url));

/** A small valid config; tests append YAML to the pool or replace parts of it. */
const BASE = `
providers:
  sim: { kind: sim, hosts: 4 }
pools:
  - name: web
    provider: sim
    template: { params: { image: ubuntu } }
    warm:
      hosts: [sim-host-01, sim-host-02, sim-host-03]
    capacity: { metric: requests_per_s, perInstance: 100 }
`;

function fromYaml(text: string, env: NodeJS.ProcessEnv = {}) {
  return parseConfig(parseConfigText(text, 'test.yaml'), 'test.yaml', env);
}

/** The ConfigError `run` throws; fails the test when it throws nothing or something else. */
function configError(run: () => unknown): ConfigError {
  try {
    run();
  } catch (err) {
    if (isConfigError(err)) return err;
    throw err;
  }
  throw new Error('expected a ConfigError, got none');
}

const problemsOf = (text: string, env: NodeJS.ProcessEnv = {}) =>
  configError(() => fromYaml(text, env)).problems;

describe('valid configs', () => {
  it('the example file validates and compiles', async () => {
    const { config, pools, source } = await loadConfig({ path: EXAMPLE, env: {} });
    expect(source).toBe(EXAMPLE);
    expect(config.store).toEqual({ kind: 'memory' });
    expect(pools.map((pool) => pool.name)).toEqual(['web', 'batch']);
    const [web, batch] = pools;
    expect(web?.hosts).toEqual([
      { name: 'sim-host-01', min: 0, target: 2, max: 5 },
      { name: 'sim-host-02', min: 0, target: 2, max: 8 },
      { name: 'sim-host-03', min: 1, target: 2, max: 5 },
    ]);
    expect(web?.bounds).toEqual({ minActive: 2, maxActive: 100, maxWarm: 16 });
    expect(batch?.warmState).toBe('suspended');
    expect(batch?.bounds.maxWarm).toBe(9); // no maxTotal: the sum of the hosts' max
  });

  it('the embedded default validates and compiles: sim, memory store, synthetic stream, web and batch', async () => {
    const { config, pools, source } = await loadConfig({ env: {} });
    expect(source).toBe('embedded default');
    expect(config.store.kind).toBe('memory');
    expect(config.synthetic).toEqual({ enabled: true, periodSeconds: 300 });
    expect(config.providers.sim).toMatchObject({ kind: 'sim', hosts: 10, capacityPerHost: 40 });
    const [web, batch] = pools;
    expect(web).toMatchObject({ name: 'web', warmState: 'paused', bounds: { minActive: 2, maxActive: 120 } });
    expect(web?.hosts).toHaveLength(10);
    expect(web?.hosts[0]).toEqual({ name: 'sim-host-01', min: 1, target: 2, max: 4 });
    expect(web?.capacity).toEqual({
      metric: 'requests_per_s',
      perInstance: 100,
      aggregate: 'avg',
      intervalMs: 10_000,
    });
    expect(batch).toMatchObject({
      name: 'batch',
      warmState: 'suspended',
      bounds: { minActive: 1, maxActive: 40 },
    });
    expect(batch?.hosts.map((host) => host.name)).toEqual([
      'sim-host-06',
      'sim-host-07',
      'sim-host-08',
      'sim-host-09',
      'sim-host-10',
    ]);
    expect(batch?.hosts[0]).toEqual({ name: 'sim-host-06', min: 0, target: 1, max: 3 });
    expect(batch?.capacity).toMatchObject({ metric: 'queue_depth', perInstance: 50 });
  });

  it('fills every default and turns seconds into milliseconds', () => {
    const { config, pools } = fromYaml(BASE);
    expect(config.controller).toEqual({
      id: `${hostname()}-${process.pid}`,
      tickSeconds: 1,
      http: { host: '127.0.0.1', port: 8080 },
      logLevel: 'info',
    });
    expect(config.synthetic).toEqual({ enabled: false, periodSeconds: 300 });
    expect(config.providers.sim).toEqual({
      kind: 'sim',
      hosts: 4,
      capacityPerHost: 40,
      speed: 1,
      seed: 1,
      latency: {},
    });
    expect(pools).toEqual([
      {
        name: 'web',
        provider: 'sim',
        template: { params: { image: 'ubuntu' }, generation: 1 },
        warmState: 'paused',
        hosts: ['sim-host-01', 'sim-host-02', 'sim-host-03'].map((name) => ({
          name,
          min: 0,
          target: 2,
          max: 5,
        })),
        bounds: { minActive: 2, maxActive: 100, maxWarm: 15 },
        capacity: { metric: 'requests_per_s', perInstance: 100, aggregate: 'avg', intervalMs: 10_000 },
        scaleIn: { stabilisationMs: 300_000, reuse: true },
        forecast: { kind: 'holt-winters', quantile: 0.995, horizonMs: 300_000 },
        promotion: { concurrency: 32, wakeTimeoutMs: 120_000 },
        refill: { maxLaunchesPerHost: 4, concurrency: 16, bootTimeoutMs: 900_000 },
        hygiene: { maxWarmAgeMs: 0, leaseMs: 120_000 },
      },
    ]);
  });

  it('keeps an explicit controller id, and accepts JSON and a redis store', () => {
    const raw = parseConfigText(
      JSON.stringify({
        controller: { id: 'ctl-1' },
        store: { kind: 'redis', url: 'redis://127.0.0.1:6379' },
      }),
      'x.json',
    );
    const { config, pools } = parseConfig(raw, 'x.json');
    expect(config.controller.id).toBe('ctl-1');
    expect(config.store).toEqual({ kind: 'redis', prefix: 'warmpool:', url: 'redis://127.0.0.1:6379' });
    expect(pools).toEqual([]);
  });

  it('names sim hosts as the sim does, and knows the warm states the sim supports', () => {
    expect(simHosts({ hosts: 2, capacityPerHost: 40 })).toEqual([
      { name: 'sim-host-01', capacity: 40 },
      { name: 'sim-host-02', capacity: 40 },
    ]);
    expect(simHosts({ hosts: 120, capacityPerHost: 1 })[0]?.name).toBe('sim-host-001');
    expect(simHosts({ hosts: ['a', { name: 'b', capacity: 8 }], capacityPerHost: 40 })).toEqual([
      { name: 'a', capacity: 40 },
      { name: 'b', capacity: 8 },
    ]);
    expect(PROVIDER_WARM_STATES.sim).toEqual(WARM_STATES);
  });

  it('takes a sim host list, with per-host capacity', () => {
    const { pools } = fromYaml(
      BASE.replace(
        '{ kind: sim, hosts: 4 }',
        '{ kind: sim, hosts: [sim-host-01, { name: sim-host-02, capacity: 8 }, sim-host-03] }',
      ),
    );
    expect(pools[0]?.hosts).toHaveLength(3);
  });
});

describe('cross-field checks: one exact line each', () => {
  const poolWith = (warm: string, extra = '') => `
providers:
  sim: { kind: sim, hosts: 4 }
pools:
  - name: web
    provider: sim
    template: { params: { image: ubuntu } }
    warm: ${warm}
    capacity: { metric: requests_per_s, perInstance: 100 }
${extra}`;

  it.each([
    [
      'host max below min',
      poolWith('{ hosts: [sim-host-01, sim-host-02, { name: sim-host-03, min: 3, max: 1 }] }'),
      'pools[0].warm.hosts[2].max: must be >= min (got 1 < 3)',
    ],
    [
      'host max below the inherited target',
      poolWith('{ perHost: { target: 2 }, hosts: [{ name: sim-host-01, max: 1 }] }'),
      'pools[0].warm.hosts[0].max: must be >= target (got 1 < 2)',
    ],
    [
      'host min above the inherited target',
      poolWith('{ perHost: { target: 2, max: 5 }, hosts: [{ name: sim-host-01, min: 3 }] }'),
      'pools[0].warm.hosts[0].min: must be <= target (got 3 > 2)',
    ],
    [
      'host target above max',
      poolWith('{ hosts: [{ name: sim-host-01, target: 9 }] }'),
      'pools[0].warm.hosts[0].target: must be <= max (got 9 > 5)',
    ],
    [
      'perHost target below min, reported once for the hosts inheriting it',
      poolWith('{ perHost: { min: 3, target: 2, max: 5 }, hosts: [sim-host-01, sim-host-02] }'),
      'pools[0].warm.perHost.target: must be >= min (got 2 < 3)',
    ],
    [
      'duplicate host',
      poolWith('{ hosts: [sim-host-01, sim-host-02, sim-host-01] }'),
      'pools[0].warm.hosts[2]: duplicate host "sim-host-01" (already listed as hosts[0])',
    ],
    [
      'host not on the sim',
      poolWith('{ hosts: [sim-host-01, { name: sim-host-09 }] }'),
      'pools[0].warm.hosts[1].name: "sim-host-09" is not a host of provider "sim" (hosts: sim-host-01, sim-host-02, sim-host-03, sim-host-04)',
    ],
    [
      'maxTotal below the sum of min',
      poolWith('{ perHost: { min: 1 }, hosts: [sim-host-01, sim-host-02, sim-host-03], maxTotal: 2 }'),
      "pools[0].warm.maxTotal: must be >= the sum of the hosts' min (got 2 < 3)",
    ],
    [
      'active min above max',
      poolWith('{ hosts: [sim-host-01] }', '    active: { min: 2, max: 1 }'),
      'pools[0].active.max: must be >= min (got 1 < 2)',
    ],
    [
      'unknown aggregate',
      poolWith('{ hosts: [sim-host-01] }').replace(
        'perInstance: 100 }',
        'perInstance: 100, aggregate: mean }',
      ),
      'pools[0].capacity.aggregate: must be one of: last, max, avg (got "mean")',
    ],
    [
      'unknown forecast kind',
      poolWith('{ hosts: [sim-host-01] }', '    forecast: { kind: arima }'),
      'pools[0].forecast.kind: must be one of: none, holt, holt-winters, burst (got "arima")',
    ],
    [
      'unknown warm state',
      poolWith('{ state: frozen, hosts: [sim-host-01] }'),
      `pools[0].warm.state: must be one of: ${WARM_STATES.join(', ')} (got "frozen")`,
    ],
    [
      'perInstance not positive',
      poolWith('{ hosts: [sim-host-01] }').replace('perInstance: 100', 'perInstance: 0'),
      'pools[0].capacity.perInstance: must be > 0 (got 0)',
    ],
    [
      'concurrency below one',
      poolWith('{ hosts: [sim-host-01] }', '    promotion: { concurrency: 0 }'),
      'pools[0].promotion.concurrency: must be >= 1 (got 0)',
    ],
    [
      'a fraction where a whole number belongs',
      poolWith('{ hosts: [sim-host-01] }', '    refill: { concurrency: 1.5 }'),
      'pools[0].refill.concurrency: must be a whole number (got 1.5)',
    ],
    ['no hosts', poolWith('{ hosts: [] }'), 'pools[0].warm.hosts: must have at least 1 entry (got 0)'],
    [
      'bad pool name',
      poolWith('{ hosts: [sim-host-01] }').replace('name: web', 'name: Web_1'),
      'pools[0].name: must be 1 to 63 lowercase letters, digits or dashes, starting with a letter or digit (got "Web_1")',
    ],
  ])('%s', (_, text, line) => {
    expect(problemsOf(text)).toEqual([line]);
  });

  it('duplicate pool name, on the path of the duplicate', () => {
    const text = `${BASE}
  - name: web
    provider: sim
    template: { params: {} }
    warm: { hosts: [sim-host-04] }
    capacity: { metric: queue_depth, perInstance: 5 }
`;
    expect(problemsOf(text)).toEqual(['pools[1].name: duplicate pool name "web" (already used by pools[0])']);
  });

  it('unknown provider, listing the configured ones', () => {
    expect(problemsOf(BASE.replace('provider: sim', 'provider: aws'))).toEqual([
      'pools[0].provider: unknown provider "aws" (configured: sim)',
    ]);
  });

  it('a provider kind that does not exist yet', () => {
    expect(problemsOf(BASE.replace('kind: sim, hosts: 4', 'kind: gce'))).toEqual([
      'providers.sim.kind: must be one of: sim, ec2, openstack (got "gce")',
    ]);
  });

  it('a redis store needs a url or cluster nodes (not both), and a bad url is not echoed', () => {
    expect(problemsOf(`store: { kind: redis }\n${BASE}`)).toEqual([
      'store.url: give url (standalone) or cluster (seed nodes)',
    ]);
    expect(problemsOf(`store: { kind: redis, url: "redis://a:6379", cluster: ["b:6379"] }\n${BASE}`)).toEqual(
      ['store.cluster: give url or cluster, not both'],
    );
    expect(problemsOf(`store: { kind: redis, cluster: ["b:6379", "nope"] }\n${BASE}`)).toEqual([
      'store.cluster[1]: must be host:port (got "nope")',
    ]);
    expect(
      fromYaml(`store: { kind: redis, cluster: ["10.0.0.1:6379"], prefix: "wp:" }\n${BASE}`).config.store,
    ).toEqual({
      kind: 'redis',
      cluster: ['10.0.0.1:6379'],
      prefix: 'wp:',
    });
    const problems = problemsOf(`store: { kind: redis, url: "http://admin:hunter2@db" }\n${BASE}`);
    expect(problems).toEqual(['store.url: must be a redis:// or rediss:// URL']);
  });
});

describe('reporting', () => {
  it('several problems at once: one line each, cross-field checks included', () => {
    const text = `
controller: { tickSeconds: -1, http: { port: 70000 } }
providers:
  sim: { kind: sim, hosts: 4 }
pools:
  - name: web
    provider: sim
    template: { params: { image: ubuntu } }
    warm:
      hosts: [sim-host-01, { name: sim-host-02, min: 6 }]
    capacity: { metric: requests_per_s, perInstance: 100, aggregate: mean }
  - name: web
    provider: nowhere
    template: { params: { image: ubuntu } }
    warm: { hosts: [sim-host-01] }
    capacity: { metric: queue_depth }
`;
    expect(problemsOf(text)).toEqual([
      'controller.tickSeconds: must be > 0 (got -1)',
      'controller.http.port: must be <= 65535 (got 70000)',
      'pools[0].warm.hosts[1].min: must be <= max (got 6 > 5)',
      'pools[0].capacity.aggregate: must be one of: last, max, avg (got "mean")',
      'pools[1].capacity.perInstance: required',
      'pools[1].name: duplicate pool name "web" (already used by pools[0])',
      'pools[1].provider: unknown provider "nowhere" (configured: sim)',
    ]);
  });

  it('the message holds the source and one indented line per problem', () => {
    const err = configError(() => fromYaml(BASE.replace('provider: sim', 'provider: aws')));
    expect(err).toBeInstanceOf(ConfigError);
    expect(err).toBeInstanceOf(Error);
    expect(err.source).toBe('test.yaml');
    expect(err.message).toBe(
      'invalid config (test.yaml):\n  pools[0].provider: unknown provider "aws" (configured: sim)',
    );
  });

  it('an unknown key is named, with the key that was probably meant', () => {
    expect(problemsOf(BASE.replace('hosts: [sim-host-01', 'perhost: {}\n      hosts: [sim-host-01'))).toEqual(
      ['pools[0].warm.perhost: unknown key (did you mean perHost?)'],
    );
    expect(problemsOf(BASE.replace('sim-host-02,', '{ name: sim-host-02, mx: 3 },'))).toEqual([
      'pools[0].warm.hosts[1].mx: unknown key (did you mean max?)',
    ]);
    expect(problemsOf(BASE.replace('kind: sim, hosts: 4', 'kind: sim, hosts: 4, sped: 2'))).toEqual([
      'providers.sim.sped: unknown key (did you mean speed?)',
    ]);
    expect(problemsOf(`colour: blue\n${BASE}`)).toEqual([
      'colour: unknown key (known keys: controller, store, providers, synthetic, kafka, webhooks, pools)',
    ]);
  });

  it('a wrong type says what was expected and what was got', () => {
    expect(problemsOf(`${BASE}    leaseSeconds: soon\n`)).toEqual([
      'pools[0].leaseSeconds: must be a number (got "soon")',
    ]);
    expect(problemsOf(`${BASE}    scaleIn: { reuse: "no" }\n`)).toEqual([
      'pools[0].scaleIn.reuse: must be true or false (got "no")',
    ]);
    expect(problemsOf(BASE.replace('image: ubuntu', 'image: 22.04'))).toEqual([
      'pools[0].template.params.image: must be a string (got 22.04)',
    ]);
    expect(problemsOf('pools: 3')).toEqual(['pools: must be a list (got 3)']);
    expect(configError(() => parseConfig('nope', 'x')).problems).toEqual([
      'config: must be a map (got "nope")',
    ]);
  });

  it('a YAML syntax error names the line and column', () => {
    const err = configError(() =>
      parseConfigText('pools:\n  - name: web\n    warm: { hosts: [a, b }\n', 'bad.yaml'),
    );
    expect(err.source).toBe('bad.yaml');
    expect(err.problems).toHaveLength(1);
    expect(err.problems[0]).toMatch(/^line 3, column \d+: /);
    expect(configError(() => parseConfigText('a: 1\na: 2\n', 'dup.yaml')).problems).toEqual([
      'line 2, column 1: Map keys must be unique',
    ]);
    expect(configError(() => parseConfigText('# nothing\n', 'empty.yaml')).problems).toEqual([
      'the document is empty',
    ]);
  });

  describe('files', () => {
    let dir: string;
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'warmpool-config-'));
    });
    afterAll(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it('a syntax error in a file is a ConfigError naming the file and the line', async () => {
      const path = join(dir, 'bad.yaml');
      await writeFile(path, 'controller:\n  tickSeconds: 1\n  tickSeconds: 2\n');
      const err = await loadConfig({ path, env: {} }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).message).toBe(
        `invalid config (${path}):\n  line 3, column 3: Map keys must be unique`,
      );
    });

    it('a missing file is a ConfigError', async () => {
      const path = join(dir, 'missing.yaml');
      const err = await loadConfig({ path, env: {} }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).problems).toEqual(['cannot read the file (ENOENT)']);
    });

    it('a valid file loads, with overrides from the environment', async () => {
      const path = join(dir, 'ok.yaml');
      await writeFile(path, BASE);
      const { pools, source } = await loadConfig({ path, env: { WARMPOOL__pools__web__active__max: '7' } });
      expect(source).toBe(path);
      expect(pools[0]?.bounds.maxActive).toBe(7);
    });
  });
});

describe('environment overrides', () => {
  it('shorthands: a number and a log level', () => {
    const { config } = parseConfig(embeddedConfig(), 'embedded default', {
      WARMPOOL_HTTP_PORT: '9090',
      WARMPOOL_LOG_LEVEL: 'debug',
    });
    expect(config.controller.http.port).toBe(9090);
    expect(config.controller.logLevel).toBe('debug');
  });

  it('a boolean, a pool by name and a pool by index', () => {
    const { config, pools } = parseConfig(embeddedConfig(), 'embedded default', {
      WARMPOOL__synthetic__enabled: 'false',
      WARMPOOL__pools__batch__scaleIn__reuse: 'false',
      WARMPOOL__pools__batch__active__max: '77',
      WARMPOOL__pools__0__warm__perHost__max: '6',
      WARMPOOL__controller__tickSeconds: '0.5',
    });
    expect(config.synthetic.enabled).toBe(false);
    expect(pools[1]?.scaleIn.reuse).toBe(false);
    expect(pools[1]?.bounds.maxActive).toBe(77);
    expect(pools[0]?.hosts[0]?.max).toBe(6);
    expect(config.controller.tickSeconds).toBe(0.5);
  });

  it('a flow list, and null to fall back to the default', () => {
    const { pools } = fromYaml(`${BASE.replace('hosts: [', 'maxTotal: 4\n      hosts: [')}`, {
      WARMPOOL__pools__web__warm__hosts: '[sim-host-04]',
      WARMPOOL__pools__web__warm__maxTotal: 'null',
    });
    expect(pools[0]?.hosts.map((host) => host.name)).toEqual(['sim-host-04']);
    expect(pools[0]?.bounds.maxWarm).toBe(5);
  });

  it('template params, a pool named like an Object property, and no way into the prototype', () => {
    const { pools } = fromYaml(BASE.replace('name: web', 'name: constructor'), {
      WARMPOOL__pools__constructor__template__params__flavor: 'm1.large',
    });
    expect(pools[0]?.template.params).toEqual({ image: 'ubuntu', flavor: 'm1.large' });
    expect(configError(() => fromYaml(BASE, { WARMPOOL__controller__constructor__x: '1' })).problems).toEqual(
      ['WARMPOOL__controller__constructor__x: "constructor" cannot be set'],
    );
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });

  it('a path through a secret is refused without showing it', () => {
    const text = `store: { kind: redis, url: "redis://:hunter2@db:6379" }\n${BASE}`;
    const err = configError(() => fromYaml(text, { WARMPOOL__store__url__x: '1' }));
    expect(err.problems).toEqual(['WARMPOOL__store__url__x: store.url is a string, not a map or a list']);
  });

  it('a pool that does not exist is an error naming the variable', () => {
    const err = configError(() =>
      parseConfig(embeddedConfig(), 'embedded default', { WARMPOOL__pools__nope__leaseSeconds: '60' }),
    );
    expect(err.source).toBe('env WARMPOOL__pools__nope__leaseSeconds');
    expect(err.problems).toEqual([
      'WARMPOOL__pools__nope__leaseSeconds: no pool named "nope" (names: web, batch)',
    ]);
    expect(
      configError(() =>
        parseConfig(embeddedConfig(), 'embedded default', { WARMPOOL__pools__5__leaseSeconds: '1' }),
      ).problems,
    ).toEqual(['WARMPOOL__pools__5__leaseSeconds: no pools[5] (pools has 2 entries)']);
  });

  it('an invalid value is an error naming the path and the variable', () => {
    const err = configError(() =>
      parseConfig(embeddedConfig(), 'embedded default', {
        WARMPOOL__pools__web__leaseSeconds: 'soon',
        WARMPOOL_HTTP_PORT: 'http',
      }),
    );
    expect(err.source).toBe('embedded default');
    expect(err.problems).toEqual([
      'controller.http.port: must be a number (got "http") (from env WARMPOOL_HTTP_PORT)',
      'pools[0].leaseSeconds: must be a number (got "soon") (from env WARMPOOL__pools__web__leaseSeconds)',
    ]);
  });

  it('a misspelt key set from the environment is an unknown key naming the variable', () => {
    expect(
      configError(() =>
        parseConfig(embeddedConfig(), 'embedded default', { WARMPOOL__controller__tickSecond: '2' }),
      ).problems,
    ).toEqual([
      'controller.tickSecond: unknown key (did you mean tickSeconds?) (from env WARMPOOL__controller__tickSecond)',
    ]);
  });

  it('a path through a value that is not a map is an error', () => {
    expect(
      configError(() =>
        parseConfig(embeddedConfig(), 'embedded default', { WARMPOOL__controller__tickSeconds__x: '1' }),
      ).problems,
    ).toEqual(['WARMPOOL__controller__tickSeconds__x: controller.tickSeconds is 1, not a map or a list']);
  });

  it('reads no other variable, so none of their values reach a message', () => {
    const err = configError(() =>
      parseConfig(embeddedConfig(), 'embedded default', {
        DATABASE_PASSWORD: 'hunter2',
        WARMPOOL_TOKEN: 'hunter3',
        WARMPOOL__pools__web__leaseSeconds: '-1',
      }),
    );
    expect(err.message).not.toMatch(/hunter/);
    expect(err.problems).toEqual([
      'pools[0].leaseSeconds: must be > 0 (got -1) (from env WARMPOOL__pools__web__leaseSeconds)',
    ]);
  });
});

describe('a bad config changes nothing', () => {
  it('parsing never modifies the raw document, whether it succeeds or fails', () => {
    const raw = embeddedConfig();
    const before = structuredClone(raw);
    parseConfig(raw, 'embedded default', { WARMPOOL__pools__web__active__max: '99' });
    configError(() => parseConfig(raw, 'embedded default', { WARMPOOL__pools__web__active__max: '-5' }));
    configError(() => parseConfig(raw, 'embedded default', { WARMPOOL__pools__nope__x: '1' }));
    expect(raw).toEqual(before);
  });

  it('each parse returns fresh objects, and the embedded default is a fresh copy each time', () => {
    const first = parseConfig(embeddedConfig(), 'embedded default');
    const second = parseConfig(embeddedConfig(), 'embedded default');
    expect(second.config).not.toBe(first.config);
    expect(second.pools[0]).not.toBe(first.pools[0]);
    first.config.pools.length = 0;
    const copy = embeddedConfig();
    copy.pools?.splice(0);
    expect(embeddedConfig().pools).toHaveLength(2);
    expect(parseConfig(embeddedConfig(), 'embedded default').config.pools).toHaveLength(2);
  });
});

describe('kafka', () => {
  it('is off unless configured; fills topic and group defaults', () => {
    expect(fromYaml(BASE).config.kafka).toBeUndefined();
    expect(fromYaml(`kafka: { brokers: [k1:9092, k2:9092] }\n${BASE}`).config.kafka).toEqual({
      brokers: ['k1:9092', 'k2:9092'],
      clientId: 'warmpool',
      groupId: 'warmpool',
      topics: { metrics: 'warmpool.metrics', deadLetter: 'warmpool.metrics.dlq', events: 'warmpool.events' },
      createTopics: false,
      ssl: false,
      maxInFlight: 256,
    });
  });

  it('names each bad field, and takes the SASL user but never a password from the file', () => {
    expect(problemsOf(`kafka: { brokers: [nope] }\n${BASE}`)).toEqual([
      'kafka.brokers[0]: must be host:port (got "nope")',
    ]);
    expect(problemsOf(`kafka: { brokers: [] }\n${BASE}`)).toEqual([
      'kafka.brokers: must have at least 1 entry (got 0)',
    ]);
    expect(
      problemsOf(
        `kafka: { brokers: [k:1], sasl: { mechanism: gssapi, username: u, password: hunter2 } }\n${BASE}`,
      ),
    ).toEqual([
      'kafka.sasl.mechanism: must be one of: plain, scram-sha-256, scram-sha-512 (got "gssapi")',
      'kafka.sasl.password: not read from the file: secrets come from the environment (KAFKA_SASL_PASSWORD)',
    ]);
  });
});
