export * from './ec2/index.js';
export * from './errors.js';
export * from './openstack/index.js';
export type {
  CloudProvider,
  CreateRequest,
  HostCapacity,
  ProviderInstance,
  ProviderStatus,
  WaitOptions,
  WaitResult,
} from './port.js';
export { TAGS } from './port.js';
export * from './sim/index.js';
