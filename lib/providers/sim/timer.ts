import type { Cancel, Clock } from '../../clock/index.js';

const ignore = () => undefined;

/**
 * Runs `fn` after `ms` of the clock's time; the handle cancels it. Built on `clock.sleep` with an abort signal
 * because the Clock port has no one-shot timer, and a cancelled wall-clock timer must not hold the process.
 */
export function after(clock: Clock, ms: number, fn: () => void): Cancel {
  const ac = new AbortController();
  clock.sleep(Math.max(0, ms), ac.signal).then(() => {
    // The sleep may have resolved in the same turn as a cancel; a cancelled timer must never fire.
    if (!ac.signal.aborted) fn();
  }, ignore);
  return () => ac.abort();
}
