export { describeSetup, PromotionCounter, type Runtime, type RuntimeOptions, startRuntime } from './app.js';
export { main } from './cli.js';
export { createHttpServer, HttpError, MAX_BODY_BYTES } from './http.js';
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
export { lambdaController, lambdaDeadLetters, resetLambdaController } from './lambda.js';
export { buildProviders, clockFor } from './providers.js';
export { buildStore, type StoreChoice } from './store.js';
