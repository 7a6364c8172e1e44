/**
 * From a warmpool launch (pool, host, template params, tags) to EC2's RunInstances request, and from an EC2
 * instance's Placement back to the warmpool host it stands on. A warmpool "host" on EC2 is a placement the
 * provider config chooses the kind of: an Availability Zone, a Dedicated Host, or a partition of a partition
 * placement group written `<group>:<partition>`.
 */
import type {
  _InstanceType,
  Placement,
  RunInstancesCommandInput,
  Tag,
  TagSpecification,
} from '@aws-sdk/client-ec2';
import { UnsupportedError } from '../errors.js';

export const EC2_PLACEMENT_KINDS = ['availability-zone', 'dedicated-host', 'partition'] as const;
export type Ec2PlacementKind = (typeof EC2_PLACEMENT_KINDS)[number];

/**
 * The pool template params the adapter understands. A launch template gives the rest; explicit params
 * override what the template says (as RunInstances itself does).
 */
export const EC2_LAUNCH_PARAMS = [
  'LaunchTemplateId',
  'LaunchTemplateName',
  'LaunchTemplateVersion',
  'ImageId',
  'InstanceType',
  'SubnetId',
  'SecurityGroupIds',
  'KeyName',
  'IamInstanceProfile',
  'UserData',
] as const;
type LaunchParam = (typeof EC2_LAUNCH_PARAMS)[number];

const isLaunchParam = (key: string): key is LaunchParam =>
  (EC2_LAUNCH_PARAMS as readonly string[]).includes(key);

/**
 * The RunInstances Placement of a warmpool host.
 * @example placementOf('partition', 'cache-pg:3') // { GroupName: 'cache-pg', PartitionNumber: 3 }
 */
export function placementOf(kind: Ec2PlacementKind, host: string): Placement {
  switch (kind) {
    case 'availability-zone':
      return { AvailabilityZone: host };
    case 'dedicated-host':
      return { HostId: host, Tenancy: 'host' };
    case 'partition': {
      const at = host.lastIndexOf(':');
      const partition = Number(host.slice(at + 1));
      if (at <= 0 || !Number.isInteger(partition) || partition < 1) {
        throw new UnsupportedError(`ec2: placement "${host}" is not <placement group>:<partition number>`);
      }
      return { GroupName: host.slice(0, at), PartitionNumber: partition };
    }
  }
}

/**
 * The warmpool host an instance stands on, read from its Placement the way `placementOf` wrote it; empty when
 * EC2 does not say (e.g. an instance launched outside warmpool onto no Dedicated Host).
 */
export function hostOf(kind: Ec2PlacementKind, placement: Placement | undefined): string {
  switch (kind) {
    case 'availability-zone':
      return placement?.AvailabilityZone ?? '';
    case 'dedicated-host':
      return placement?.HostId ?? '';
    case 'partition':
      return placement?.GroupName && placement.PartitionNumber !== undefined
        ? `${placement.GroupName}:${placement.PartitionNumber}`
        : '';
  }
}

export interface LaunchRequest {
  params: Readonly<Record<string, string>>;
  placement: Placement;
  tags: Readonly<Record<string, string>>;
  hibernate: boolean;
  clientToken: string;
}

function tagList(tags: Readonly<Record<string, string>>): Tag[] {
  return Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
}

/**
 * The RunInstances input for one instance. Throws UnsupportedError on a param it does not know (a typo
 * would otherwise launch something else than the operator meant) or on a launch template named twice.
 * @example runInstancesInput({ params: { LaunchTemplateName: 'web' }, placement: { AvailabilityZone: 'eu-west-1a' }, tags, hibernate: false, clientToken })
 */
export function runInstancesInput(req: LaunchRequest): RunInstancesCommandInput {
  const p: Partial<Record<LaunchParam, string>> = {};
  for (const [key, value] of Object.entries(req.params)) {
    if (!isLaunchParam(key)) {
      throw new UnsupportedError(
        `ec2: unknown launch parameter "${key}" in the pool template (known: ${EC2_LAUNCH_PARAMS.join(', ')})`,
      );
    }
    p[key] = value;
  }
  if (p.LaunchTemplateId !== undefined && p.LaunchTemplateName !== undefined) {
    throw new UnsupportedError('ec2: give LaunchTemplateId or LaunchTemplateName, not both');
  }
  if (p.LaunchTemplateVersion !== undefined && !p.LaunchTemplateId && !p.LaunchTemplateName) {
    throw new UnsupportedError('ec2: LaunchTemplateVersion needs LaunchTemplateId or LaunchTemplateName');
  }

  const tags = tagList(req.tags);
  // The volumes carry the pool's tags too, so that cost reports and clean-ups see what they belong to.
  const TagSpecifications: TagSpecification[] = [
    { ResourceType: 'instance', Tags: tags },
    { ResourceType: 'volume', Tags: tags },
  ];
  const input: RunInstancesCommandInput = {
    MinCount: 1,
    MaxCount: 1,
    ClientToken: req.clientToken,
    Placement: req.placement,
    TagSpecifications,
  };
  if (p.LaunchTemplateId !== undefined || p.LaunchTemplateName !== undefined) {
    input.LaunchTemplate = {
      ...(p.LaunchTemplateId !== undefined
        ? { LaunchTemplateId: p.LaunchTemplateId }
        : { LaunchTemplateName: p.LaunchTemplateName }),
      Version: p.LaunchTemplateVersion ?? '$Default',
    };
  }
  if (p.ImageId !== undefined) input.ImageId = p.ImageId;
  // EC2 knows its instance types better than a list compiled into this SDK version: pass it on as given.
  if (p.InstanceType !== undefined) input.InstanceType = p.InstanceType as _InstanceType;
  if (p.SubnetId !== undefined) input.SubnetId = p.SubnetId;
  if (p.SecurityGroupIds !== undefined) {
    input.SecurityGroupIds = p.SecurityGroupIds.split(',')
      .map((s) => s.trim())
      .filter((s) => s.length > 0);
  }
  if (p.KeyName !== undefined) input.KeyName = p.KeyName;
  if (p.IamInstanceProfile !== undefined) {
    input.IamInstanceProfile = p.IamInstanceProfile.startsWith('arn:')
      ? { Arn: p.IamInstanceProfile }
      : { Name: p.IamInstanceProfile };
  }
  if (p.UserData !== undefined) input.UserData = p.UserData;
  // Hibernation can only be configured at launch; a pool that hibernates must ask for it here.
  if (req.hibernate) input.HibernationOptions = { Configured: true };
  return input;
}
