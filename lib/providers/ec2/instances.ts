/**
 * What an EC2 instance is in warmpool's terms. EC2's states map onto the port's statuses: `pending` is a
 * launch (or a wake) under way, `stopping` a sleep under way, `stopped` is `stopped` or `hibernated` as the
 * StateReason of the last stop says, and `shutting-down`/`terminated` are gone.
 */
import type { Instance, InstanceStateName } from '@aws-sdk/client-ec2';
import { type ProviderInstance, type ProviderStatus, TAGS } from '../port.js';
import { type Ec2PlacementKind, hostOf } from './launch.js';

/** The StateReason EC2 gives a stop that hibernated the guest (vs `Client.UserInitiatedShutdown`). */
export const HIBERNATE_REASON = 'Client.UserInitiatedHibernate';

/** State reasons of a stop or termination someone asked for; any other one says what went wrong. */
const ASKED_FOR = new Set([
  'Client.UserInitiatedShutdown',
  'Client.UserInitiatedHibernate',
  'Client.InstanceInitiatedShutdown',
]);

/** The states `list` asks for: every state but the two of an instance on its way out. */
export const LIVE_STATES: readonly InstanceStateName[] = ['pending', 'running', 'stopping', 'stopped'];

/**
 * Status and busy flag of an EC2 state. `stopping` stays `running` while busy, as a sleep under way does in
 * every adapter, so nobody mistakes it for asleep before it is. A `pending` after a wake reads as `building`
 * too: EC2 gives no cheap sign of which it is, and both mean "busy, on its way to running".
 */
export function statusOf(inst: Pick<Instance, 'State' | 'StateReason'>): {
  status: ProviderStatus;
  busy: boolean;
} {
  switch (inst.State?.Name) {
    case 'pending':
      return { status: 'building', busy: true };
    case 'running':
      return { status: 'running', busy: false };
    case 'stopping':
      return { status: 'running', busy: true };
    case 'stopped':
      return { status: inst.StateReason?.Code === HIBERNATE_REASON ? 'hibernated' : 'stopped', busy: false };
    case 'shutting-down':
      return { status: 'deleted', busy: true };
    case 'terminated':
      return { status: 'deleted', busy: false };
    default:
      return { status: 'error', busy: false };
  }
}

function tagsOf(inst: Instance): Record<string, string> {
  const tags: Record<string, string> = {};
  for (const t of inst.Tags ?? []) if (t.Key !== undefined) tags[t.Key] = t.Value ?? '';
  return tags;
}

/**
 * When the instance was first launched. EC2 moves LaunchTime to the latest start, so a woken instance would
 * look brand new; its root volume's attach time stays at the first launch.
 */
function createdAtOf(inst: Instance): number {
  const launched = inst.LaunchTime?.getTime();
  const root = inst.BlockDeviceMappings?.find((b) => b.DeviceName === inst.RootDeviceName)?.Ebs?.AttachTime;
  const attached = root?.getTime();
  if (attached !== undefined && launched !== undefined) return Math.min(attached, launched);
  return launched ?? attached ?? 0;
}

/** The port's view of an EC2 instance, hosts named as `placement` says. */
export function viewOf(inst: Instance, placement: Ec2PlacementKind): ProviderInstance {
  const tags = tagsOf(inst);
  const generation = Number(tags[TAGS.generation]);
  const { status, busy } = statusOf(inst);
  const view: ProviderInstance = {
    id: inst.InstanceId ?? '',
    pool: tags[TAGS.pool] ?? '',
    host: hostOf(placement, inst.Placement),
    status,
    busy,
    generation: Number.isInteger(generation) ? generation : 0,
    tags,
    createdAt: createdAtOf(inst),
  };
  const reason = inst.StateReason;
  // A launch that failed (no capacity behind the API's back, a bad snapshot …) ends terminated with the cause.
  if (status === 'deleted' && reason?.Code && !ASKED_FOR.has(reason.Code)) {
    view.fault = reason.Message ?? reason.Code;
  }
  return view;
}
