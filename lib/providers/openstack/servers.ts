/**
 * What a Nova server is in warmpool's terms: its status (from Nova's `status` and `OS-EXT-STS:task_state`),
 * its pool, generation and tags (from its metadata, which Nova returns as written), and the warmpool host it
 * stands on. Also the other direction: the tags and metadata a launch writes. Pure functions, no I/O.
 */
import { createHash } from 'node:crypto';
import type { ProviderInstance, ProviderStatus } from '../port.js';
import { TAGS } from '../port.js';
import type { NovaServer } from './nova.js';

/** A tag on every server warmpool launches, so one list call finds them all. */
export const MANAGED_TAG = 'warmpool';
/** Metadata key of the host a launch asked for: where a server is when Nova does not say (shelved, unscheduled). */
export const HOST_KEY = 'warmpool:host';
/** Nova: a tag is at most 60 characters and holds no '/' or ','. */
export const TAG_MAX_LENGTH = 60;
/** Nova: at most 50 tags per server. */
export const MAX_TAGS = 50;

/**
 * The Nova tag for a key and value: `key=value` when that is a valid tag, else `key#` and a hash of the
 * value (or `wp#` and a hash of both, for a key that cannot stand in a tag), so that a list call can filter on
 * it either way. Metadata carries the value itself.
 * @example novaTag('warmpool:pool', 'web') // 'warmpool:pool=web'
 */
export function novaTag(key: string, value: string): string {
  const plain = `${key}=${value}`;
  if (plain.length <= TAG_MAX_LENGTH && !/[/,]/.test(plain)) return plain;
  const hash = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 24);
  const keyed = `${key}#${hash(value)}`;
  if (keyed.length <= TAG_MAX_LENGTH && !/[/,]/.test(key)) return keyed;
  return `wp#${hash(plain)}`;
}

/** The tags of a launch: the managed tag, then one per metadata entry (pool and generation first). */
export function launchTags(metadata: Readonly<Record<string, string>>): string[] {
  const tags = [MANAGED_TAG];
  for (const [key, value] of Object.entries(metadata)) {
    if (key === HOST_KEY) continue;
    const tag = novaTag(key, value);
    if (!tags.includes(tag)) tags.push(tag);
  }
  return tags.slice(0, MAX_TAGS);
}

/**
 * Nova's hostId of `host` for servers of `projectId`: sha224(project id + host name), which Nova shows to
 * every user instead of the host name. Knowing the candidate host names, a user without the admin role can
 * tell which host a server stands on.
 * @example hostIdOf('wp-compute-1', 'f3a…') // '5a7c…' (56 hex digits)
 */
export function hostIdOf(host: string, projectId: string): string {
  return createHash('sha224')
    .update(projectId + host, 'utf8')
    .digest('hex');
}

/** Nova statuses of a server still on its way up or between states, with the port's status while busy. */
const BUSY_RUNNING = new Set([
  'REBOOT',
  'HARD_REBOOT',
  'REBUILD',
  'RESIZE',
  'VERIFY_RESIZE',
  'REVERT_RESIZE',
  'MIGRATING',
  'PASSWORD',
]);

/** Nova task states that end with the server gone. */
const DELETING = new Set(['deleting', 'soft-deleting']);

/**
 * Status and busy flag of a server. A task under way (`OS-EXT-STS:task_state` set: pausing, shelving,
 * powering-on …) makes it busy in its current status, as a sleep or a wake under way does in every adapter;
 * a delete under way reads as `deleted` and busy.
 * @example statusOf({ status: 'SHELVED_OFFLOADED' }) // { status: 'shelved', busy: false }
 */
export function statusOf(server: Pick<NovaServer, 'status' | 'OS-EXT-STS:task_state'>): {
  status: ProviderStatus;
  busy: boolean;
} {
  const task = server['OS-EXT-STS:task_state'] ?? null;
  if (task !== null && DELETING.has(task)) return { status: 'deleted', busy: true };
  const busy = task !== null;
  switch (server.status) {
    case 'BUILD':
      return { status: 'building', busy: true };
    case 'ACTIVE':
      return { status: 'running', busy };
    case 'PAUSED':
      return { status: 'paused', busy };
    case 'SUSPENDED':
      return { status: 'suspended', busy };
    case 'SHELVED':
    case 'SHELVED_OFFLOADED':
      return { status: 'shelved', busy };
    case 'SHUTOFF':
      return { status: 'stopped', busy };
    case 'ERROR':
      return { status: 'error', busy };
    case 'DELETED':
    case 'SOFT_DELETED':
      return { status: 'deleted', busy: false };
    default:
      // REBOOT, RESIZE, MIGRATING …: up, but in the middle of something. UNKNOWN (its cell is down) and
      // RESCUE: nothing warmpool can use now, and nothing that settles a wait either.
      if (BUSY_RUNNING.has(server.status)) return { status: 'running', busy: true };
      return { status: 'error', busy: true };
  }
}

/** How a view names hosts: the configured names, and which project's hostIds map to them. */
export interface HostNaming {
  /** Configured host names. */
  readonly names: readonly string[];
  /** hostId → host name, for the project of the server. */
  byHostId(projectId: string): ReadonlyMap<string, string>;
}

/** A HostNaming over `names`, with the hostIds of each project computed once. */
export function hostNaming(names: readonly string[]): HostNaming {
  const perProject = new Map<string, Map<string, string>>();
  return {
    names,
    byHostId(projectId) {
      let map = perProject.get(projectId);
      if (!map) {
        map = new Map(names.map((name) => [hostIdOf(name, projectId), name]));
        perProject.set(projectId, map);
      }
      return map;
    },
  };
}

/**
 * The warmpool host of a server: Nova's host name when the credentials may see it (admin), else the
 * configured host whose hostId matches (the raw hostId when none does), else the host the launch asked for
 * (a server not yet scheduled, or shelved and offloaded, stands on no host).
 */
export function hostOfServer(server: NovaServer, naming: HostNaming): string {
  const host = server['OS-EXT-SRV-ATTR:host'];
  if (host) return host;
  if (server.hostId && server.tenant_id) {
    return naming.byHostId(server.tenant_id).get(server.hostId) ?? server.hostId;
  }
  return server.metadata?.[HOST_KEY] ?? '';
}

/** The port's view of a Nova server. */
export function viewOf(server: NovaServer, naming: HostNaming): ProviderInstance {
  const tags: Record<string, string> = {};
  // A tag written `key=value` when metadata does not hold the key (a server tagged by hand, or by an older
  // warmpool): metadata wins, it holds the value exactly.
  for (const tag of server.tags ?? []) {
    const at = tag.indexOf('=');
    if (at > 0) tags[tag.slice(0, at)] = tag.slice(at + 1);
  }
  Object.assign(tags, server.metadata ?? {});
  const generation = Number(tags[TAGS.generation]);
  const { status, busy } = statusOf(server);
  const created = server.created ? Date.parse(server.created) : Number.NaN;
  const view: ProviderInstance = {
    id: server.id,
    pool: tags[TAGS.pool] ?? '',
    host: hostOfServer(server, naming),
    status,
    busy,
    generation: Number.isInteger(generation) ? generation : 0,
    tags,
    createdAt: Number.isNaN(created) ? 0 : created,
  };
  if (status === 'error' && !busy) view.fault = server.fault?.message ?? 'Nova says ERROR and gives no fault';
  else if (status === 'error') view.fault = `Nova status ${server.status}`;
  return view;
}
