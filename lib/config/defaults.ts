/**
 * The embedded default: what `warmpool run` uses with no config file. Everything runs in the process (the
 * simulated cloud, the in-memory store, a synthetic metric stream), so a fresh checkout shows the warm pool at
 * work with no Kafka, Redis or cloud account. It is a raw document, validated like any file.
 */
import type { WarmpoolConfigInput } from './schema.js';

/**
 * A fresh copy of the embedded default config (raw: pass it to parseConfig). Fresh, so a caller that edits
 * it changes nothing for the next one.
 * @example const { pools } = parseConfig(embeddedConfig(), 'embedded default');
 */
export function embeddedConfig(): WarmpoolConfigInput {
  return {
    controller: { tickSeconds: 1, http: { host: '127.0.0.1', port: 8080 }, logLevel: 'info' },
    // In-process: state is lost on restart, which is fine for a demo on a simulated cloud.
    store: { kind: 'memory' },
    providers: {
      // Ten times real time: a cold launch that takes minutes on a busy cloud takes seconds here, so the whole
      // cycle (fill, burst, promote, refill) shows within a minute. Set speed: 1 to watch it in real time.
      sim: { kind: 'sim', hosts: 10, capacityPerHost: 40, speed: 10, seed: 1 },
    },
    synthetic: { enabled: true, periodSeconds: 300 },
    pools: [
      {
        name: 'web',
        provider: 'sim',
        template: {
          generation: 1,
          params: { image: 'ubuntu-22.04', flavor: 'm1.small', network: 'private' },
        },
        warm: {
          state: 'paused',
          perHost: { min: 1, target: 2, max: 4 },
          hosts: Array.from({ length: 10 }, (_, i) => simHost(i + 1)),
        },
        active: { min: 2, max: 120 },
        capacity: { metric: 'requests_per_s', perInstance: 100, aggregate: 'avg' },
      },
      {
        // Suspended rather than paused: batch tolerates a slower wake and then holds no host RAM.
        name: 'batch',
        provider: 'sim',
        template: {
          generation: 1,
          params: { image: 'ubuntu-22.04', flavor: 'm1.large', network: 'private' },
        },
        warm: {
          state: 'suspended',
          perHost: { min: 0, target: 1, max: 3 },
          hosts: [6, 7, 8, 9, 10].map(simHost),
        },
        active: { min: 1, max: 40 },
        capacity: { metric: 'queue_depth', perInstance: 50, aggregate: 'avg' },
      },
    ],
  };
}

function simHost(n: number): string {
  return `sim-host-${String(n).padStart(2, '0')}`;
}
