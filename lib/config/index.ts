/**
 * lib/config: the config file (YAML or JSON) and the embedded default, validated with zod, overridden from
 * the environment and compiled into the PoolSpecs the controller works from.
 */
export { compilePool, compilePools, resolveHosts } from './compile.js';
export { embeddedConfig } from './defaults.js';
export { ConfigError, formatPath, isConfigError } from './errors.js';
export {
  type AppliedOverride,
  applyEnvOverrides,
  EMBEDDED_SOURCE,
  ENV_PREFIX,
  ENV_SHORTHANDS,
  type LoadedConfig,
  type LoadOptions,
  loadConfig,
  parseConfig,
  parseConfigText,
} from './load.js';
export {
  OPENSTACK_INTERFACES,
  OPENSTACK_PLACEMENTS,
  type OpenStackProviderConfig,
  OpenStackProviderSchema,
  openstackTemplateProblems,
} from './openstack.js';
export {
  AGGREGATES,
  ConfigSchema,
  type ControllerConfig,
  FORECAST_KINDS,
  KAFKA_SASL_MECHANISMS,
  type KafkaConfig,
  KafkaSchema,
  LOG_LEVELS,
  NAME_PATTERN,
  type PoolConfig,
  type PoolHostConfig,
  PoolSchema,
  PROVIDER_WARM_STATES,
  type ProviderConfig,
  type ProviderKind,
  ProviderSchema,
  type SimProviderConfig,
  type StoreConfig,
  type SyntheticConfig,
  simHosts,
  type WarmConfig,
  type WarmpoolConfig,
  type WarmpoolConfigInput,
  type WebhooksConfig,
  WebhooksSchema,
} from './schema.js';
