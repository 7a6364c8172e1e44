export { type Cancel, type Clock, ScaledClock, SystemClock } from './clock.js';
export { VirtualClock } from './virtual.js';
