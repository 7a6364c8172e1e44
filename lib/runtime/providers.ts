import { type Clock, ScaledClock, SystemClock } from '../clock/index.js';
import { simHosts, type WarmpoolConfig } from '../config/index.js';
import type { Logger } from '../log/index.js';
import {
  type CloudProvider,
  Ec2Provider,
  loadOpenStackCredentials,
  OpenStackProvider,
} from '../providers/index.js';
import { SimCloud } from '../providers/sim/index.js';

export interface BuildProvidersOptions {
  /** Where adapters log what an operator should know (e.g. openstack falling back from pinned hosts). */
  log?: Logger;
  /** Where OpenStack credentials (OS_*, OS_CLOUD, OS_CLIENT_CONFIG_FILE) are read; `process.env` by default. */
  env?: NodeJS.ProcessEnv;
}

/**
 * One adapter per configured provider, by name. The only place that knows every adapter: controllers see
 * the CloudProvider port, adapters never see a controller. An openstack provider reads its credentials here
 * (clouds.yaml or OS_*), and throws OpenStackConfigError naming what is missing.
 */
export function buildProviders(
  config: Pick<WarmpoolConfig, 'providers'> & Partial<Pick<WarmpoolConfig, 'pools'>>,
  clock: Clock,
  options: BuildProvidersOptions = {},
): Map<string, CloudProvider> {
  const providers = new Map<string, CloudProvider>();
  for (const [name, p] of Object.entries(config.providers)) {
    switch (p.kind) {
      case 'sim':
        providers.set(name, new SimCloud({ clock, hosts: simHosts(p), latency: p.latency, seed: p.seed }));
        break;
      case 'ec2':
        providers.set(
          name,
          new Ec2Provider({
            clock,
            region: p.region,
            placement: p.placement,
            hibernation: p.hibernation,
            maxAttempts: p.maxAttempts,
            // Hibernation is configured at launch or never: the pools that hibernate say which launches need it.
            hibernatedPools: (config.pools ?? [])
              .filter((pool) => pool.provider === name && pool.warm.state === 'hibernated')
              .map((pool) => pool.name),
          }),
        );
        break;
      case 'openstack': {
        const found = loadOpenStackCredentials({
          ...(p.cloud === undefined ? {} : { cloud: p.cloud }),
          ...(options.env === undefined ? {} : { env: options.env }),
        });
        const region = p.region ?? found.region;
        providers.set(
          name,
          new OpenStackProvider({
            clock,
            credentials: found.credentials,
            ...(region === undefined ? {} : { region }),
            interface: p.interface ?? found.interface ?? 'public',
            hosts: p.hosts,
            placement: p.placement,
            maxConcurrency: p.maxConcurrency,
            requestTimeoutMs: Math.round(p.requestTimeoutSeconds * 1000),
            ...(options.log ? { log: options.log.child({ provider: name }) } : {}),
          }),
        );
        break;
      }
    }
  }
  return providers;
}

/**
 * The wall clock, or a faster one when every provider is a sim that asks for a speed-up (a demo, or a test
 * that runs the real runtime): real clouds run in real time.
 */
export function clockFor(config: Pick<WarmpoolConfig, 'providers'>): Clock {
  const speeds = Object.values(config.providers).map((p) => (p.kind === 'sim' ? p.speed : 1));
  const speed = speeds.length > 0 && speeds.every((s) => s === speeds[0]) ? speeds[0]! : 1;
  return speed === 1 ? new SystemClock() : new ScaledClock(speed);
}
