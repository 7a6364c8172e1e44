/**
 * The `ec2` provider: warm pools on Amazon EC2 through @aws-sdk/client-ec2 (v3). Hosts are placements (an
 * Availability Zone, a Dedicated Host, or a partition of a placement group); instances sleep stopped or
 * hibernated, or stay running (pre-booted).
 */
export { DEFAULT_RETRY_AFTER_MS, type Ec2CallContext, ec2ErrorName, toProviderError } from './errors.js';
export { HIBERNATE_REASON, LIVE_STATES, statusOf, viewOf } from './instances.js';
export {
  EC2_LAUNCH_PARAMS,
  EC2_PLACEMENT_KINDS,
  type Ec2PlacementKind,
  hostOf,
  type LaunchRequest,
  placementOf,
  runInstancesInput,
} from './launch.js';
export {
  DESCRIBE_BATCH,
  EC2_WARM_STATES,
  type Ec2Placement,
  Ec2Provider,
  type Ec2ProviderOptions,
} from './provider.js';
