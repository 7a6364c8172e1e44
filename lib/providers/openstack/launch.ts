/**
 * From a warmpool launch (pool, host, template params, tags) to Nova's create-server request. The params a
 * pool template may give are few and checked before anything is sent, so a typo is an error naming the
 * param instead of a server launched from something else. The checks are plain functions so the config
 * loader refuses the same mistakes at load time.
 */

/** The pool template params the adapter understands. */
export const OPENSTACK_LAUNCH_PARAMS = [
  'flavor',
  'image',
  'network',
  'keyName',
  'securityGroups',
  'availabilityZone',
] as const;
export type OpenStackLaunchParam = (typeof OPENSTACK_LAUNCH_PARAMS)[number];

const REQUIRED: readonly OpenStackLaunchParam[] = ['flavor', 'image', 'network'];
const UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

/** True for a UUID (with or without dashes), the form of Nova, Glance and Neutron ids. */
export const isUuid = (value: string): boolean => UUID.test(value);

const isLaunchParam = (key: string): key is OpenStackLaunchParam =>
  (OPENSTACK_LAUNCH_PARAMS as readonly string[]).includes(key);

const list = (value: string) =>
  value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');

/**
 * What is wrong with a pool template's params for OpenStack, one entry per param; empty when they are fine.
 * @example launchParamsProblems({ flavor: 'm1.small', image: 'debian-12' })
 * // [{ param: 'network', message: 'required: a network id, "none" or "auto"' }]
 */
export function launchParamsProblems(
  params: Readonly<Record<string, string>>,
): { param: string; message: string }[] {
  const problems: { param: string; message: string }[] = [];
  for (const key of Object.keys(params)) {
    if (!isLaunchParam(key)) {
      problems.push({
        param: key,
        message: `unknown OpenStack launch parameter (known: ${OPENSTACK_LAUNCH_PARAMS.join(', ')})`,
      });
    }
  }
  for (const key of REQUIRED) {
    if (params[key] === undefined) {
      problems.push({
        param: key,
        message:
          key === 'network'
            ? 'required: a network id, "none" or "auto"'
            : `required: the ${key}'s id or name`,
      });
    }
  }
  for (const key of ['flavor', 'image', 'keyName', 'availabilityZone'] as const) {
    const value = params[key];
    if (value !== undefined && value.trim() === '')
      problems.push({ param: key, message: 'must not be empty' });
  }
  const az = params.availabilityZone;
  if (az?.includes(':')) {
    problems.push({
      param: 'availabilityZone',
      message: `must be a zone name without ":" (the host comes from the pool's hosts; got "${az}")`,
    });
  }
  const network = params.network;
  if (network !== undefined && network !== 'none' && network !== 'auto') {
    const ids = list(network);
    const bad = ids.filter((id) => !isUuid(id));
    if (ids.length === 0 || bad.length > 0) {
      problems.push({
        param: 'network',
        message: `must be a network id (a UUID; several separated by commas), "none" or "auto" (got "${network}")`,
      });
    }
  }
  const groups = params.securityGroups;
  if (groups !== undefined && list(groups).length === 0) {
    problems.push({
      param: 'securityGroups',
      message: 'must name at least one security group (comma-separated)',
    });
  }
  return problems;
}

/** Where a launch goes. */
export type LaunchPlacement =
  /** Nova's `host` field (microversion 2.74). */
  | { kind: 'host'; host: string }
  /** The older forced host: availability zone `zone:host`. */
  | { kind: 'forced-host'; host: string }
  /** Wherever the scheduler puts it. */
  | { kind: 'scheduler' };

export interface ServerRequest {
  name: string;
  /** Resolved ids. */
  flavorRef: string;
  imageRef: string;
  params: Readonly<Record<string, string>>;
  metadata: Readonly<Record<string, string>>;
  tags: readonly string[];
  placement: LaunchPlacement;
}

/** The zone of a forced-host launch when the template names none: Nova's default zone. */
export const DEFAULT_ZONE = 'nova';

/**
 * The `server` object of `POST /servers`. Params must have passed `launchParamsProblems`.
 * @example serverBody({ name, flavorRef, imageRef, params: { network: 'none' }, metadata, tags, placement: { kind: 'host', host: 'cmp-1' } })
 */
export function serverBody(req: ServerRequest): Record<string, unknown> {
  const p = req.params;
  const body: Record<string, unknown> = {
    name: req.name,
    flavorRef: req.flavorRef,
    imageRef: req.imageRef,
    networks:
      p.network === 'none' || p.network === 'auto'
        ? p.network
        : list(p.network ?? '').map((uuid) => ({ uuid })),
    metadata: { ...req.metadata },
    tags: [...req.tags],
  };
  if (p.keyName !== undefined) body.key_name = p.keyName;
  if (p.securityGroups !== undefined) body.security_groups = list(p.securityGroups).map((name) => ({ name }));
  switch (req.placement.kind) {
    case 'host':
      body.host = req.placement.host;
      if (p.availabilityZone !== undefined) body.availability_zone = p.availabilityZone;
      break;
    case 'forced-host':
      body.availability_zone = `${p.availabilityZone ?? DEFAULT_ZONE}:${req.placement.host}`;
      break;
    case 'scheduler':
      if (p.availabilityZone !== undefined) body.availability_zone = p.availabilityZone;
      break;
  }
  return body;
}
