import type { InstanceState } from './types.js';

/**
 * The legal transitions of an instance. Anything not listed is refused by every store adapter.
 *
 * booting → warming → warm → promoting → active → returning → warm is the warm-pool loop; booting → active is
 * a cold launch that serves demand directly (a cold miss); any state may fail or be torn down.
 */
export const TRANSITIONS: Readonly<Record<InstanceState, readonly InstanceState[]>> = {
  booting: ['warming', 'active', 'failed', 'deleting'],
  warming: ['warm', 'failed', 'deleting'],
  warm: ['promoting', 'failed', 'deleting'],
  promoting: ['active', 'warm', 'failed', 'deleting'],
  active: ['returning', 'failed', 'deleting'],
  returning: ['warm', 'failed', 'deleting'],
  failed: ['deleting'],
  deleting: [],
};

/** True when the lifecycle allows `from → to`. */
export function canTransition(from: InstanceState, to: InstanceState): boolean {
  return TRANSITIONS[from].includes(to);
}

/** States in which an instance is in service or about to be, and so counts against `maxActive`. */
export const SERVING_STATES: readonly InstanceState[] = ['promoting', 'active'];

/** States in which an instance is on its way into the warm pool. */
export const WARMING_STATES: readonly InstanceState[] = ['booting', 'warming'];

/** States whose step is carried out by one controller under a lease. */
export const IN_FLIGHT_STATES: readonly InstanceState[] = [
  'booting',
  'warming',
  'promoting',
  'returning',
  'deleting',
];
