/**
 * The config file's schema: strict zod objects (an unknown key is an error, which catches typos), defaults for
 * everything an operator need not decide, and the cross-field checks. Durations are seconds here; compile.ts
 * turns them into the milliseconds of PoolSpec.
 *
 * Cross-field checks run even when an unrelated field failed, so one pass reports every problem. That means a
 * check may see a half-parsed value: each one first asks `parsedCleanly` whether the fields it reads came
 * through without an issue, and stays silent otherwise (the field's own issue already says what is wrong).
 */
import { z } from 'zod';
import { FORECAST_KINDS, WARM_STATES, type WarmState } from '../domain/index.js';
import { OpenStackProviderSchema, openstackTemplateProblems } from './openstack.js';

/** Pool and provider names: they end up in tags, store keys and metric labels. */
export const NAME_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;
const NAME_RULE = 'must be 1 to 63 lowercase letters, digits or dashes, starting with a letter or digit';

/** pino's levels. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export const AGGREGATES = ['last', 'max', 'avg'] as const;
/** The demand predictors a pool may use (see lib/forecast). */
export { FORECAST_KINDS };

const name = () => z.string().regex(NAME_PATTERN, { error: NAME_RULE });
const hostName = () => z.string().min(1);
/** A duration that must pass: timeouts, periods. */
const seconds = (fallback: number) => z.number().positive().default(fallback);
/** A duration where 0 means "none" or "off". */
const secondsOrZero = (fallback: number) => z.number().nonnegative().default(fallback);
const atLeastOne = (fallback: number) => z.int().min(1).default(fallback);
const warmCount = () => z.int().min(0);

// ---------------------------------------------------------------------------------------------------------
// Checking half-parsed values

interface IssueLike {
  readonly code: string;
  readonly path?: readonly PropertyKey[] | undefined;
}

function overlaps(a: readonly PropertyKey[], b: readonly PropertyKey[]): boolean {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * True when no issue lies on, above or below any of `paths`, so the values there are what the schema promises.
 * An unknown key is harmless here: zod drops it and the fields beside it are still sound.
 */
function parsedCleanly(issues: readonly IssueLike[], ...paths: (readonly PropertyKey[])[]): boolean {
  return paths.every((path) =>
    issues.every((issue) => issue.code === 'unrecognized_keys' || !overlaps(issue.path ?? [], path)),
  );
}

/** Run a check whenever the value is at least an object; the check itself asks which fields it may trust. */
const onObject = { when: (payload: { value: unknown }) => isPlainObject(payload.value) };

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// ---------------------------------------------------------------------------------------------------------
// min <= target <= max

type Bound = 'min' | 'target' | 'max';
const ORDERED_PAIRS: readonly (readonly [Bound, Bound])[] = [
  ['min', 'max'],
  ['min', 'target'],
  ['target', 'max'],
];

/**
 * The first broken `lo <= hi` among min, target and max, blamed on a field the entry itself sets (the upper
 * one when it sets both). Checking min/max first means one line per entry: once min <= max holds, target can
 * break at most one of the other two. `undefined` also when the entry sets neither field of the broken pair:
 * then the problem lies in the defaults it inherits, which are reported where they are written.
 */
function boundsProblem(
  bounds: Readonly<Record<Bound, number>>,
  sets: (bound: Bound) => boolean,
): { field: Bound; message: string } | undefined {
  for (const [lo, hi] of ORDERED_PAIRS) {
    if (bounds[lo] <= bounds[hi]) continue;
    if (!sets(lo) && !sets(hi)) return undefined;
    return sets(hi)
      ? { field: hi, message: `must be >= ${lo} (got ${bounds[hi]} < ${bounds[lo]})` }
      : { field: lo, message: `must be <= ${hi} (got ${bounds[lo]} > ${bounds[hi]})` };
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------
// controller, store

export const ControllerSchema = z
  .strictObject({
    /** Empty: `${hostname}-${pid}`, filled in at load time. Names this controller in leases. */
    id: z.string().default(''),
    tickSeconds: seconds(1),
    http: z
      .strictObject({
        host: z.string().min(1).default('127.0.0.1'),
        port: z.int().min(0).max(65535).default(8080),
      })
      .prefault({}),
    logLevel: z.enum(LOG_LEVELS).default('info'),
  })
  .prefault({});

export const MemoryStoreSchema = z.strictObject({ kind: z.literal('memory') });
export const RedisStoreSchema = z
  .strictObject({
    kind: z.literal('redis'),
    /** A standalone Redis (or a Sentinel-less primary). */
    url: z
      .string()
      .regex(/^rediss?:\/\/\S+$/, { error: 'must be a redis:// or rediss:// URL' })
      .optional(),
    /** A Redis Cluster, by seed nodes `host:port`. */
    cluster: z
      .array(z.string().regex(/^[^\s:]+:\d{1,5}$/, { error: 'must be host:port' }))
      .min(1)
      .optional(),
    /** Prefix of every key, so several installations can share one Redis. */
    prefix: z.string().min(1).default('warmpool:'),
  })
  .check((ctx) => {
    const { url, cluster } = ctx.value;
    if ((url === undefined) === (cluster === undefined)) {
      ctx.issues.push({
        code: 'custom',
        input: ctx.value,
        path: url === undefined ? ['url'] : ['cluster'],
        message:
          url === undefined
            ? 'give url (standalone) or cluster (seed nodes)'
            : 'give url or cluster, not both',
      });
    }
  });
export const StoreSchema = z
  .discriminatedUnion('kind', [MemoryStoreSchema, RedisStoreSchema])
  .prefault({ kind: 'memory' });

// ---------------------------------------------------------------------------------------------------------
// providers: a discriminated union on `kind`, so a new cloud is a new member plus a line in PROVIDER_WARM_STATES

const SimHostSchema = z.union([
  hostName(),
  z.strictObject({ name: hostName(), capacity: z.int().min(1).optional() }),
]);

export const SimProviderSchema = z
  .strictObject({
    kind: z.literal('sim'),
    /** A count (hosts `sim-host-01`…) or the hosts by name, each optionally with its own capacity. */
    hosts: z.union([z.int().min(1).max(9999), z.array(SimHostSchema).min(1)]).default(10),
    capacityPerHost: atLeastOne(40),
    /** Wall-clock speed-up of the simulated latencies when the local runtime drives the sim. */
    speed: z.number().positive().default(1),
    seed: z.int().default(1),
    /** Overrides of the sim's latency model; the sim checks the keys, since it owns the model. */
    latency: z.record(z.string().min(1), z.number().positive()).default(() => ({})),
  })
  .superRefine((sim, ctx) => {
    if (!parsedCleanly(ctx.issues, ['hosts']) || typeof sim.hosts === 'number') return;
    const seen = new Map<string, number>();
    sim.hosts.forEach((host, i) => {
      const hostName = typeof host === 'string' ? host : host.name;
      const first = seen.get(hostName);
      if (first === undefined) seen.set(hostName, i);
      else
        ctx.addIssue({
          code: 'custom',
          path: typeof host === 'string' ? ['hosts', i] : ['hosts', i, 'name'],
          message: `duplicate host "${hostName}" (already listed as hosts[${first}])`,
        });
    });
  }, onObject);

export const EC2_PLACEMENT_KINDS = ['availability-zone', 'dedicated-host', 'partition'] as const;

/** What a placement's name must look like, per kind; `undefined` when it is fine. */
function ec2PlacementProblem(
  kind: (typeof EC2_PLACEMENT_KINDS)[number],
  region: string,
  host: string,
): string | undefined {
  switch (kind) {
    case 'availability-zone': {
      // eu-west-1a, or a Local Zone such as us-west-2-lax-1a: always the region's name and more.
      const rest = host.startsWith(region) ? host.slice(region.length) : undefined;
      return rest !== undefined && /^(?:[a-z]|-[a-z0-9-]*[a-z])$/.test(rest)
        ? undefined
        : `must be an Availability Zone of ${region}, e.g. ${region}a (got "${host}")`;
    }
    case 'dedicated-host':
      return /^h-(?:[0-9a-f]{8}|[0-9a-f]{17})$/.test(host)
        ? undefined
        : `must be a Dedicated Host id, e.g. h-0123456789abcdef0 (got "${host}")`;
    case 'partition':
      return /^[^:\s]{1,255}:[1-7]$/.test(host)
        ? undefined
        : `must be <placement group>:<partition number 1 to 7>, e.g. cache-pg:1 (got "${host}")`;
  }
}

/**
 * Amazon EC2 in one region, on the placements listed. Credentials are never here: the SDK's default chain
 * finds them (environment, profile, the Lambda or instance role).
 */
export const Ec2ProviderSchema = z
  .strictObject({
    kind: z.literal('ec2'),
    region: z
      .string()
      .regex(/^[a-z]{2}(?:-[a-z]+)+-\d+$/, { error: 'must be an AWS region, e.g. eu-west-1' }),
    /**
     * What a warmpool host is on EC2, and the ones pools may use: Availability Zones, Dedicated Host ids, or
     * `<group>:<partition>` of a partition placement group. `capacity`: the most instances warmpool keeps
     * there (EC2 has no slot count to read).
     */
    placement: z.strictObject({
      kind: z.enum(EC2_PLACEMENT_KINDS),
      hosts: z.array(z.strictObject({ name: hostName(), capacity: z.int().min(1) })).min(1),
    }),
    /** The launch templates / AMIs support hibernation (encrypted EBS root, a supported instance family). */
    hibernation: z.boolean().default(false),
    /** SDK attempts per API call, with adaptive retry (client-side rate limiting on throttling). */
    maxAttempts: z.int().min(1).max(20).default(5),
  })
  .superRefine((ec2, ctx) => {
    if (!parsedCleanly(ctx.issues, ['placement'], ['region'])) return;
    const seen = new Map<string, number>();
    ec2.placement.hosts.forEach((host, i) => {
      const problem = ec2PlacementProblem(ec2.placement.kind, ec2.region, host.name);
      if (problem)
        ctx.addIssue({ code: 'custom', path: ['placement', 'hosts', i, 'name'], message: problem });
      const first = seen.get(host.name);
      if (first === undefined) seen.set(host.name, i);
      else
        ctx.addIssue({
          code: 'custom',
          path: ['placement', 'hosts', i, 'name'],
          message: `duplicate host "${host.name}" (already listed as placement.hosts[${first}])`,
        });
    });
  }, onObject);

export const ProviderSchema = z.discriminatedUnion('kind', [
  SimProviderSchema,
  Ec2ProviderSchema,
  OpenStackProviderSchema,
]);

export type ProviderConfig = z.output<typeof ProviderSchema>;
export type ProviderKind = ProviderConfig['kind'];
export type SimProviderConfig = z.output<typeof SimProviderSchema>;
export type Ec2ProviderConfig = z.output<typeof Ec2ProviderSchema>;

/** The warm states each provider kind can hold an instance in (the adapter's `warmStates`, known up front). */
export const PROVIDER_WARM_STATES: Readonly<Record<ProviderKind, readonly WarmState[]>> = {
  sim: WARM_STATES,
  ec2: ['stopped', 'hibernated', 'running'],
  openstack: ['paused', 'suspended', 'stopped', 'shelved', 'running'],
};

/**
 * Why provider `name` cannot keep a pool's instances in `state`, as the line for `pools[i].warm.state`;
 * `undefined` when it can.
 * @example warmStateProblem('aws', ec2, 'paused') // 'ec2 cannot hold "paused" (supported: stopped, hibernated, running)'
 */
export function warmStateProblem(
  name: string,
  provider: ProviderConfig,
  state: WarmState,
): string | undefined {
  const supported = PROVIDER_WARM_STATES[provider.kind];
  if (!supported.includes(state)) {
    return `${provider.kind} cannot hold "${state}" (supported: ${supported.join(', ')})`;
  }
  if (provider.kind === 'ec2' && state === 'hibernated' && !provider.hibernation) {
    return `provider "${name}" (ec2) has hibernation off: set providers.${name}.hibernation: true to keep instances hibernated (the launch template / AMI must support hibernation: an encrypted EBS root volume with room for the RAM, a supported instance family)`;
  }
  return undefined;
}

/**
 * The sim's hosts with their capacity, as the sim provider builds them: a count becomes `sim-host-01`…
 * (zero-padded to at least two digits), a list is taken as written.
 * @example simHosts({ ...sim, hosts: 2, capacityPerHost: 40 }) // [{ name: 'sim-host-01', capacity: 40 }, …]
 */
export function simHosts(sim: Pick<SimProviderConfig, 'hosts' | 'capacityPerHost'>): {
  name: string;
  capacity: number;
}[] {
  if (typeof sim.hosts === 'number') {
    const width = Math.max(2, String(sim.hosts).length);
    return Array.from({ length: sim.hosts }, (_, i) => ({
      name: `sim-host-${String(i + 1).padStart(width, '0')}`,
      capacity: sim.capacityPerHost,
    }));
  }
  return sim.hosts.map((host) =>
    typeof host === 'string'
      ? { name: host, capacity: sim.capacityPerHost }
      : { name: host.name, capacity: host.capacity ?? sim.capacityPerHost },
  );
}

/** The hosts a provider is known to have before it runs; `undefined` when only the cloud can say. */
function staticHostNames(provider: ProviderConfig): string[] | undefined {
  switch (provider.kind) {
    case 'sim':
      return simHosts(provider).map((host) => host.name);
    case 'ec2':
      return provider.placement.hosts.map((host) => host.name);
    case 'openstack':
      return provider.hosts.map((host) => host.name);
  }
}

/** What is wrong with a pool's template params for its provider; the sim and ec2 check theirs at launch. */
function templateParamsProblems(
  provider: ProviderConfig,
  params: Readonly<Record<string, string>>,
): { param: string; message: string }[] {
  return provider.kind === 'openstack' ? openstackTemplateProblems(params) : [];
}

function describeHosts(names: readonly string[]): string {
  if (names.length <= 6) return names.join(', ');
  return `${names[0]} … ${names[names.length - 1]}, ${names.length} in all`;
}

// ---------------------------------------------------------------------------------------------------------
// pools

export const PoolHostSchema = z.union([
  hostName(),
  z.strictObject({
    name: hostName(),
    min: warmCount().optional(),
    target: warmCount().optional(),
    max: warmCount().optional(),
  }),
]);

export const WarmSchema = z
  .strictObject({
    state: z.enum(WARM_STATES).default('paused'),
    /** Defaults for every host of `hosts`; an entry there overrides any of them. */
    perHost: z
      .strictObject({
        min: warmCount().default(0),
        target: warmCount().default(2),
        max: warmCount().default(5),
      })
      .prefault({}),
    hosts: z.array(PoolHostSchema).min(1),
    /** Default: the sum of the hosts' max. */
    maxTotal: warmCount().optional(),
    maxAgeSeconds: secondsOrZero(0),
  })
  .superRefine((warm, ctx) => {
    if (!parsedCleanly(ctx.issues, ['perHost'], ['hosts'])) return;
    const perHost = boundsProblem(warm.perHost, () => true);
    if (perHost) ctx.addIssue({ code: 'custom', path: ['perHost', perHost.field], message: perHost.message });

    const seen = new Map<string, number>();
    let minSum = 0;
    warm.hosts.forEach((host, i) => {
      const entry = typeof host === 'string' ? { name: host } : host;
      const bounds = {
        min: entry.min ?? warm.perHost.min,
        target: entry.target ?? warm.perHost.target,
        max: entry.max ?? warm.perHost.max,
      };
      minSum += bounds.min;
      const problem = boundsProblem(bounds, (bound) => entry[bound] !== undefined);
      if (problem)
        ctx.addIssue({ code: 'custom', path: ['hosts', i, problem.field], message: problem.message });
      const first = seen.get(entry.name);
      if (first === undefined) seen.set(entry.name, i);
      else
        ctx.addIssue({
          code: 'custom',
          path: typeof host === 'string' ? ['hosts', i] : ['hosts', i, 'name'],
          message: `duplicate host "${entry.name}" (already listed as hosts[${first}])`,
        });
    });

    if (warm.maxTotal !== undefined && parsedCleanly(ctx.issues, ['maxTotal']) && warm.maxTotal < minSum)
      ctx.addIssue({
        code: 'custom',
        path: ['maxTotal'],
        message: `must be >= the sum of the hosts' min (got ${warm.maxTotal} < ${minSum})`,
      });
  }, onObject);

export const ActiveSchema = z
  .strictObject({ min: z.int().min(0).default(2), max: z.int().min(1).default(100) })
  .superRefine((active, ctx) => {
    if (!parsedCleanly(ctx.issues, ['min'], ['max']) || active.min <= active.max) return;
    ctx.addIssue({
      code: 'custom',
      path: ['max'],
      message: `must be >= min (got ${active.max} < ${active.min})`,
    });
  }, onObject)
  .prefault({});

export const PoolSchema = z.strictObject({
  name: name(),
  /** A key of `providers`. */
  provider: z.string().min(1),
  template: z.strictObject({
    generation: atLeastOne(1),
    params: z.record(z.string(), z.string()),
  }),
  warm: WarmSchema,
  active: ActiveSchema,
  capacity: z.strictObject({
    metric: z.string().min(1),
    perInstance: z.number().positive(),
    aggregate: z.enum(AGGREGATES).default('avg'),
    /** Samples are folded per interval; the policy decides on closed intervals (and at once on a burst). */
    intervalSeconds: z.number().positive().default(10),
  }),
  forecast: z
    .strictObject({
      kind: z.enum(FORECAST_KINDS).default('holt-winters'),
      /** Smoothing of the level, trend and daily profile; unset, each forecaster's own default (lib/forecast). */
      alpha: z.number().gt(0).lte(1).optional(),
      beta: z.number().gte(0).lte(1).optional(),
      gamma: z.number().gte(0).lte(1).optional(),
      /** The pool holds the forecast's upper bound at this quantile: 0.995 covers 199 bursts in 200. */
      quantile: z.number().gte(0.5).lt(1).default(0.995),
      /** The refill lead time: how long a launch takes to be warm, with a margin. */
      horizonSeconds: secondsOrZero(300),
    })
    .prefault({}),
  scaleIn: z
    .strictObject({ stabilisationSeconds: secondsOrZero(300), reuse: z.boolean().default(true) })
    .prefault({}),
  promotion: z.strictObject({ concurrency: atLeastOne(32), wakeTimeoutSeconds: seconds(120) }).prefault({}),
  refill: z
    .strictObject({
      maxLaunchesPerHost: atLeastOne(4),
      concurrency: atLeastOne(16),
      bootTimeoutSeconds: seconds(900),
    })
    .prefault({}),
  leaseSeconds: seconds(120),
});

// ---------------------------------------------------------------------------------------------------------
// kafka

export const KAFKA_SASL_MECHANISMS = ['plain', 'scram-sha-256', 'scram-sha-512'] as const;

/**
 * Where metrics come from and decisions go. The SASL password is never in the file: it is read from the
 * environment variable KAFKA_SASL_PASSWORD.
 */
export const KafkaSchema = z.strictObject({
  brokers: z.array(z.string().regex(/^[^\s:]+:\d{1,5}$/, { error: 'must be host:port' })).min(1),
  clientId: z.string().min(1).default('warmpool'),
  groupId: z.string().min(1).default('warmpool'),
  topics: z
    .strictObject({
      metrics: z.string().min(1).default('warmpool.metrics'),
      deadLetter: z.string().min(1).default('warmpool.metrics.dlq'),
      events: z.string().min(1).default('warmpool.events'),
    })
    .prefault({}),
  /** Create the topics at start (needs CreateTopics on the cluster and the right ACLs). Off: topics are the operator's. */
  createTopics: z.boolean().default(false),
  ssl: z.boolean().default(false),
  sasl: z.strictObject({ mechanism: z.enum(KAFKA_SASL_MECHANISMS), username: z.string().min(1) }).optional(),
  /** Pause consuming while this many pool operations are in flight (backpressure). */
  maxInFlight: atLeastOne(256),
  /**
   * Consumer group session timeout, ms: how long the coordinator waits for a silent member (a crashed one)
   * before giving its partitions to the others. Unset: 30000 (the kafkajs default). Heartbeats go every
   * third of it, at most every 3 s.
   */
  sessionTimeoutMs: z.int().min(1000).optional(),
  /** Longest a fetch waits on the broker for new records, ms. Unset: 5000 (the kafkajs default). */
  maxWaitTimeMs: z.int().min(0).optional(),
});

// ---------------------------------------------------------------------------------------------------------
// webhooks

/**
 * How alerts map to pools. The secrets that guard the webhooks never live here: WARMPOOL_WEBHOOK_TOKEN
 * (bearer) and WARMPOOL_WEBHOOK_SECRET (HMAC) come from the environment.
 */
export const WebhooksSchema = z
  .strictObject({
    rules: z
      .array(
        z
          .strictObject({
            match: z.record(z.string().min(1), z.string()),
            pool: name(),
            scaleOut: z.int().min(1).optional(),
            desired: z.int().min(0).optional(),
          })
          .check((ctx) => {
            if (ctx.value.scaleOut !== undefined && ctx.value.desired !== undefined) {
              ctx.issues.push({
                code: 'custom',
                input: ctx.value,
                path: ['desired'],
                message: 'give scaleOut or desired, not both',
              });
            }
          }),
      )
      .default(() => []),
    /** Largest body accepted, bytes. */
    maxBodyBytes: z.int().min(1024).max(10_485_760).default(262_144),
  })
  .prefault({});

// ---------------------------------------------------------------------------------------------------------
// the whole file

export const SyntheticSchema = z
  .strictObject({ enabled: z.boolean().default(false), periodSeconds: seconds(300) })
  .prefault({});

export const ConfigSchema = z
  .strictObject({
    controller: ControllerSchema,
    store: StoreSchema,
    providers: z.record(name(), ProviderSchema).default(() => ({})),
    synthetic: SyntheticSchema,
    kafka: KafkaSchema.optional(),
    webhooks: WebhooksSchema,
    pools: z.array(PoolSchema).default(() => []),
  })
  .superRefine((config, ctx) => {
    if (!Array.isArray(config.pools)) return; // its own issue says what it is instead
    const clean = (...paths: (readonly PropertyKey[])[]) => parsedCleanly(ctx.issues, ...paths);
    const poolNames = config.pools.map((p) => p.name);
    (Array.isArray(config.webhooks?.rules) ? config.webhooks.rules : []).forEach((rule, i) => {
      if (clean(['webhooks', 'rules', i, 'pool'], ['pools']) && !poolNames.includes(rule.pool)) {
        ctx.addIssue({
          code: 'custom',
          path: ['webhooks', 'rules', i, 'pool'],
          message: `unknown pool "${rule.pool}" (pools: ${poolNames.join(', ') || 'none'})`,
        });
      }
    });
    const firstByName = new Map<string, number>();
    config.pools.forEach((pool, i) => {
      if (clean(['pools', i, 'name'])) {
        const first = firstByName.get(pool.name);
        if (first === undefined) firstByName.set(pool.name, i);
        else
          ctx.addIssue({
            code: 'custom',
            path: ['pools', i, 'name'],
            message: `duplicate pool name "${pool.name}" (already used by pools[${first}])`,
          });
      }

      // A provider whose own entry failed is left out of the parsed map: say nothing rather than "unknown".
      if (!clean(['pools', i, 'provider'], ['providers', pool.provider])) return;
      const provider = Object.hasOwn(config.providers, pool.provider)
        ? config.providers[pool.provider]
        : undefined;
      if (provider === undefined) {
        const known = Object.keys(config.providers);
        ctx.addIssue({
          code: 'custom',
          path: ['pools', i, 'provider'],
          message: `unknown provider "${pool.provider}" (${known.length ? `configured: ${known.join(', ')}` : 'no providers are configured'})`,
        });
        return;
      }

      const stateProblem = clean(['pools', i, 'warm', 'state'])
        ? warmStateProblem(pool.provider, provider, pool.warm.state)
        : undefined;
      if (stateProblem)
        ctx.addIssue({ code: 'custom', path: ['pools', i, 'warm', 'state'], message: stateProblem });

      if (clean(['pools', i, 'template', 'params'])) {
        for (const problem of templateParamsProblems(provider, pool.template.params))
          ctx.addIssue({
            code: 'custom',
            path: ['pools', i, 'template', 'params', problem.param],
            message: problem.message,
          });
      }

      const hostNames = staticHostNames(provider);
      if (hostNames === undefined || !clean(['pools', i, 'warm', 'hosts'])) return;
      const known = new Set(hostNames);
      pool.warm.hosts.forEach((host, j) => {
        const hostName = typeof host === 'string' ? host : host.name;
        if (known.has(hostName)) return;
        ctx.addIssue({
          code: 'custom',
          path:
            typeof host === 'string'
              ? ['pools', i, 'warm', 'hosts', j]
              : ['pools', i, 'warm', 'hosts', j, 'name'],
          message: `"${hostName}" is not a host of provider "${pool.provider}" (hosts: ${describeHosts(hostNames)})`,
        });
      });
    });
  }, onObject);

export type WarmpoolConfig = z.output<typeof ConfigSchema>;
/** What a config file may say: every defaulted key optional. */
export type WarmpoolConfigInput = z.input<typeof ConfigSchema>;
export type ControllerConfig = z.output<typeof ControllerSchema>;
export type StoreConfig = z.output<typeof StoreSchema>;
export type KafkaConfig = z.output<typeof KafkaSchema>;
export type WebhooksConfig = z.output<typeof WebhooksSchema>;
export type SyntheticConfig = z.output<typeof SyntheticSchema>;
export type PoolConfig = z.output<typeof PoolSchema>;
export type WarmConfig = z.output<typeof WarmSchema>;
export type PoolHostConfig = z.output<typeof PoolHostSchema>;
