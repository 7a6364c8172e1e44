/**
 * The `openstack` provider's config: which cloud, which compute hosts with how many servers each, how
 * launches reach their host. Credentials are never here: they come from clouds.yaml (`cloud`) or the OS_*
 * environment, read when the provider is built. Also the check of a pool template's params for OpenStack,
 * so that a missing flavor or a misspelt param is refused at load time with the field's path.
 */
import { z } from 'zod';
import { launchParamsProblems } from '../providers/openstack/launch.js';

/** How launches reach their host (see OpenStackProvider): try pinning, always pin, or never pin. */
export const OPENSTACK_PLACEMENTS = ['auto', 'pinned', 'hostId'] as const;
export const OPENSTACK_INTERFACES = ['public', 'internal', 'admin'] as const;

/**
 * OpenStack Nova in one region, on the compute hosts listed.
 *
 * @example
 * providers:
 *   prod:
 *     kind: openstack
 *     cloud: prod              # a cloud of clouds.yaml; without it, the OS_* environment
 *     hosts: [{ name: cmp-01, capacity: 40 }, { name: cmp-02, capacity: 40 }]
 */
export const OpenStackProviderSchema = z
  .strictObject({
    kind: z.literal('openstack'),
    /**
     * A cloud of clouds.yaml (./clouds.yaml, ~/.config/openstack/clouds.yaml, /etc/openstack/clouds.yaml, or
     * OS_CLIENT_CONFIG_FILE). Without it: OS_CLOUD, else the OS_* variables of an openrc file.
     */
    cloud: z.string().min(1).optional(),
    /** Default: the cloud's region_name, or OS_REGION_NAME. */
    region: z.string().min(1).optional(),
    /** Catalog interface of the endpoints. Default: the cloud's, or OS_INTERFACE, or public. */
    interface: z.enum(OPENSTACK_INTERFACES).optional(),
    /** nova-compute hosts (their service host names) and the most servers warmpool keeps on each. */
    hosts: z.array(z.strictObject({ name: z.string().min(1), capacity: z.int().min(1) })).min(1),
    /**
     * `pinned`: every launch names its host (needs admin under Nova's default policy). `hostId`: the
     * scheduler places launches, hosts are told apart by Nova's hostId. `auto`: pinned until Nova refuses.
     */
    placement: z.enum(OPENSTACK_PLACEMENTS).default('auto'),
    /** Requests in flight per endpoint (Keystone, Nova, Glance each). */
    maxConcurrency: z.int().min(1).max(256).default(10),
    /** Longest wait for one answer of an OpenStack API. */
    requestTimeoutSeconds: z.number().positive().max(600).default(30),
  })
  .superRefine((openstack, ctx) => {
    if (!Array.isArray(openstack.hosts)) return;
    const seen = new Map<string, number>();
    openstack.hosts.forEach((host, i) => {
      if (typeof host?.name !== 'string') return;
      const first = seen.get(host.name);
      if (first === undefined) seen.set(host.name, i);
      else
        ctx.addIssue({
          code: 'custom',
          path: ['hosts', i, 'name'],
          message: `duplicate host "${host.name}" (already listed as hosts[${first}])`,
        });
    });
  });

export type OpenStackProviderConfig = z.output<typeof OpenStackProviderSchema>;

/**
 * What is wrong with a pool template's params for an openstack provider, each with the param it is about.
 * @example openstackTemplateProblems({ flavor: 'm1.small' })
 * // [{ param: 'image', message: "required: the image's id or name" }, { param: 'network', … }]
 */
export function openstackTemplateProblems(
  params: Readonly<Record<string, string>>,
): { param: string; message: string }[] {
  return launchParamsProblems(params);
}
