export { type HoltParams, type HoltState, holtForecast, holtUpdate } from './holt.js';
