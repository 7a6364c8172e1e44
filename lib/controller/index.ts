export { Controller, type ControllerOptions, type PoolPolicyState, type PoolStatus } from './controller.js';
