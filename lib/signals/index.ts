export {
  type Aggregate,
  type IntervalStats,
  intervalStart,
  MetricAggregator,
  mergeStats,
  reduce,
} from './aggregate.js';
export { type Decoded, type MetricSample, metricSampleSchema } from './metric.js';
export {
  cloudEventSchema,
  type DecodedRecord,
  decodePayload,
  decodeRecordValue,
  type RejectReason,
} from './payload.js';
export { syntheticSamples, syntheticShape } from './synthetic.js';
export {
  type AlertRule,
  alertmanagerSchema,
  type Demand,
  decodeAlertmanager,
  decodeGeneric,
  decodeGrafana,
  genericSchema,
  grafanaSchema,
} from './webhooks.js';
