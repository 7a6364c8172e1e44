import { type Clock, ScaledClock, SystemClock } from '../clock/index.js';
import { simHosts, type WarmpoolConfig } from '../config/index.js';
import { type CloudProvider, Ec2Provider } from '../providers/index.js';
import { SimCloud } from '../providers/sim/index.js';

/**
 * One adapter per configured provider, by name. The only place that knows every adapter: controllers see
 * the CloudProvider port, adapters never see a controller.
 */
export function buildProviders(
  config: Pick<WarmpoolConfig, 'providers'> & Partial<Pick<WarmpoolConfig, 'pools'>>,
  clock: Clock,
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
