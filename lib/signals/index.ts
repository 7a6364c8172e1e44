export { type Aggregate, type IntervalStats, MetricAggregator, reduce } from './aggregate.js';
export { type Decoded, decodeMetric, type MetricSample, metricSampleSchema } from './metric.js';
export { syntheticSamples, syntheticShape } from './synthetic.js';
