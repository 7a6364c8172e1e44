export {
  ADMIN_DISABLED,
  type AdminOptions,
  handleAdmin,
  OverrideBodySchema,
  PromoteBodySchema,
} from './admin.js';
export {
  AdminClient,
  type AdminClientOptions,
  AdminError,
  type AdminOverride,
  type AdminPool,
  adminCommand,
  DEFAULT_URL,
  formatPools,
} from './admin-client.js';
export { describeSetup, PromotionCounter, type Runtime, type RuntimeOptions, startRuntime } from './app.js';
export { MAX_BODY_BYTES, parseJson, readBody } from './body.js';
export { main } from './cli.js';
export { HttpError } from './errors.js';
export { createHttpServer, type HttpOptions } from './http.js';
export {
  type BatchResult,
  type DeadLetterSink,
  ingestBatch,
  ingestPartitions,
  logDeadLetters,
} from './ingest.js';
export {
  type KafkaRuntime,
  kafkaClient,
  kafkaDeadLetters,
  kafkaSettings,
  startKafka,
  toCloudEvent,
} from './kafka.js';
export { lambdaConfig, lambdaController, lambdaDeadLetters, resetLambdaController } from './lambda.js';
export { buildProviders, clockFor } from './providers.js';
export { type ConfigWatcher, type ConfigWatchOptions, type ReloadOutcome, watchConfig } from './reload.js';
export { buildStore, type StoreChoice } from './store.js';
export {
  applyDemands,
  authenticate,
  type Decision,
  handleWebhook,
  SIGNATURE_WINDOW_S,
  type WebhookKind,
  type WebhookSecrets,
  webhookSecrets,
} from './webhooks.js';
