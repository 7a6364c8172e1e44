import type { Cancel, Clock } from '../../clock/index.js';

/** Runs `fn` after `ms` of the clock's time; the handle cancels it. */
export function after(clock: Clock, ms: number, fn: () => void): Cancel {
  return clock.after(Math.max(0, ms), fn);
}
