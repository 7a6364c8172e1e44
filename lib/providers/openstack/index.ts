/**
 * The `openstack` provider: warm pools on OpenStack Nova through warmpool's own small Keystone v3 and Nova
 * clients (Node's fetch; no OpenStack SDK exists for Node). Hosts are nova-compute hosts; instances sleep
 * paused, suspended, shelved or stopped, or stay running (pre-booted). Credentials come from clouds.yaml or
 * the OS_* environment, never from warmpool's config.
 */
export {
  type CredentialOptions,
  configFilePaths,
  type LoadedCredentials,
  loadOpenStackCredentials,
} from './clouds.js';
export {
  apiMessage,
  DEFAULT_RETRY_AFTER_MS as OPENSTACK_DEFAULT_RETRY_AFTER_MS,
  describeCall,
  type OpenStackAnswer,
  OpenStackApiError,
  type OpenStackCall,
  OpenStackConfigError,
  retryAfterMs,
  toProviderError as openStackError,
} from './errors.js';
export { resolveImage } from './glance.js';
export { type FetchLike, Http, type HttpOptions, type HttpRequest } from './http.js';
export {
  type ApplicationCredentials,
  authRequestBody,
  type CatalogEntry,
  DEFAULT_REFRESH_MARGIN_MS,
  type DomainRef,
  type EndpointInterface,
  INTERFACES,
  identityV3Url,
  type KeystoneCredentials,
  type KeystoneOptions,
  KeystoneSession,
  type PasswordCredentials,
  type ProjectRef,
  selectEndpoint,
  type Token,
  type UserRef,
} from './keystone.js';
export {
  DEFAULT_ZONE,
  isUuid,
  type LaunchPlacement,
  launchParamsProblems,
  OPENSTACK_LAUNCH_PARAMS,
  type OpenStackLaunchParam,
  type ServerRequest,
  serverBody,
} from './launch.js';
export {
  compareMicroversions,
  computeUrls,
  formatMicroversion,
  MICROVERSIONS,
  type Microversion,
  type MicroversionRange,
  microversionRange,
  NovaClient,
  type NovaClientOptions,
  type NovaHypervisor,
  type NovaServer,
  parseMicroversion,
  type ServerListing,
} from './nova.js';
export {
  OPENSTACK_PLACEMENTS,
  OPENSTACK_WARM_STATES,
  type OpenStackPlacement,
  OpenStackProvider,
  type OpenStackProviderOptions,
} from './provider.js';
export {
  HOST_KEY,
  type HostNaming,
  hostIdOf,
  hostNaming,
  hostOfServer,
  launchTags,
  MANAGED_TAG,
  novaTag,
  statusOf as novaStatusOf,
  viewOf as novaViewOf,
} from './servers.js';
