export { clamp, type DesiredHistory, desiredFromMetric, stabilise, warmTargets } from './target.js';
