/**
 * From the validated config to the PoolSpec the controller works from: host defaults merged into each host,
 * seconds turned into milliseconds, derived bounds filled in. Pure, and trusts its input: call it only on
 * what ConfigSchema produced.
 */
import type { HostBounds, PoolSpec } from '../domain/index.js';
import type { PoolConfig, WarmConfig, WarmpoolConfig } from './schema.js';

const ms = (seconds: number): number => Math.round(seconds * 1000);

/**
 * Each host of a pool with `perHost` merged under what the host entry sets itself.
 * @example resolveHosts({ ...warm, perHost: { min: 0, target: 2, max: 5 }, hosts: ['a', { name: 'b', max: 8 }] })
 * // [{ name: 'a', min: 0, target: 2, max: 5 }, { name: 'b', min: 0, target: 2, max: 8 }]
 */
export function resolveHosts(warm: Pick<WarmConfig, 'perHost' | 'hosts'>): HostBounds[] {
  return warm.hosts.map((host) => {
    const entry = typeof host === 'string' ? { name: host } : host;
    return {
      name: entry.name,
      min: entry.min ?? warm.perHost.min,
      target: entry.target ?? warm.perHost.target,
      max: entry.max ?? warm.perHost.max,
    };
  });
}

/**
 * One pool of the config as the controller's PoolSpec.
 * @example compilePool(config.pools[0]).bounds.maxWarm // warm.maxTotal, or the sum of the hosts' max
 */
export function compilePool(pool: PoolConfig): PoolSpec {
  const hosts = resolveHosts(pool.warm);
  return {
    name: pool.name,
    provider: pool.provider,
    template: { params: { ...pool.template.params }, generation: pool.template.generation },
    warmState: pool.warm.state,
    hosts,
    bounds: {
      minActive: pool.active.min,
      maxActive: pool.active.max,
      maxWarm: pool.warm.maxTotal ?? hosts.reduce((sum, host) => sum + host.max, 0),
    },
    capacity: {
      metric: pool.capacity.metric,
      perInstance: pool.capacity.perInstance,
      aggregate: pool.capacity.aggregate,
      intervalMs: ms(pool.capacity.intervalSeconds),
    },
    scaleIn: { stabilisationMs: ms(pool.scaleIn.stabilisationSeconds), reuse: pool.scaleIn.reuse },
    forecast: {
      kind: pool.forecast.kind,
      ...(pool.forecast.alpha === undefined ? {} : { alpha: pool.forecast.alpha }),
      ...(pool.forecast.beta === undefined ? {} : { beta: pool.forecast.beta }),
      ...(pool.forecast.gamma === undefined ? {} : { gamma: pool.forecast.gamma }),
      quantile: pool.forecast.quantile,
      horizonMs: ms(pool.forecast.horizonSeconds),
    },
    promotion: {
      concurrency: pool.promotion.concurrency,
      wakeTimeoutMs: ms(pool.promotion.wakeTimeoutSeconds),
    },
    refill: {
      maxLaunchesPerHost: pool.refill.maxLaunchesPerHost,
      concurrency: pool.refill.concurrency,
      bootTimeoutMs: ms(pool.refill.bootTimeoutSeconds),
    },
    hygiene: { maxWarmAgeMs: ms(pool.warm.maxAgeSeconds), leaseMs: ms(pool.leaseSeconds) },
  };
}

/**
 * Every pool of a validated config as PoolSpecs, in file order.
 * @example const specs = compilePools(config); // config: a WarmpoolConfig from ConfigSchema
 */
export function compilePools(config: Pick<WarmpoolConfig, 'pools'>): PoolSpec[] {
  return config.pools.map(compilePool);
}
