import type { Clock } from '../clock/index.js';
import { simHosts, type WarmpoolConfig } from '../config/index.js';
import type { CloudProvider } from '../providers/index.js';
import { SimCloud } from '../providers/sim/index.js';

/**
 * One adapter per configured provider, by name. The only place that knows every adapter: controllers see
 * the CloudProvider port, adapters never see a controller.
 */
export function buildProviders(
  config: Pick<WarmpoolConfig, 'providers'>,
  clock: Clock,
): Map<string, CloudProvider> {
  const providers = new Map<string, CloudProvider>();
  for (const [name, p] of Object.entries(config.providers)) {
    switch (p.kind) {
      case 'sim':
        providers.set(name, new SimCloud({ clock, hosts: simHosts(p), latency: p.latency, seed: p.seed }));
        break;
    }
  }
  return providers;
}
