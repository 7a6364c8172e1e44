export * from './errors.js';
export * from './lifecycle.js';
export * from './types.js';
