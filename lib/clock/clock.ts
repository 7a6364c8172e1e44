/**
 * The Clock port. The controller, the sim cloud and the synthetic metric stream read time and wait only
 * through it, so the same code runs on the wall clock (runtime), a sped-up wall clock (demo) and a virtual
 * clock (tests, simulation, benchmarks) where hours of cloud time pass in milliseconds and no test sleeps.
 */
export interface Clock {
  /** Milliseconds since the epoch (wall clock) or since the clock's origin (virtual clock). */
  now(): number;
  /** Resolves after `ms` of this clock's time; rejects with the signal's reason when aborted. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /** Runs `fn` once after `ms` unless the returned handle is cancelled first. */
  after(ms: number, fn: () => void): Cancel;
  /** Runs `fn` every `ms` until the returned handle is cancelled. */
  every(ms: number, fn: () => void): Cancel;
}

export type Cancel = () => void;

function abortable(signal: AbortSignal | undefined, start: (done: () => void) => Cancel): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      cancel();
      reject(signal?.reason);
    };
    const cancel = start(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    });
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** The wall clock. */
export class SystemClock implements Clock {
  now(): number {
    return Date.now();
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return abortable(signal, (done) => {
      const t = setTimeout(done, Math.max(0, ms));
      return () => clearTimeout(t);
    });
  }

  after(ms: number, fn: () => void): Cancel {
    const t = setTimeout(fn, Math.max(0, ms));
    return () => clearTimeout(t);
  }

  every(ms: number, fn: () => void): Cancel {
    const t = setInterval(fn, ms);
    return () => clearInterval(t);
  }
}

/**
 * The wall clock run `speed` times faster: a demo of a cloud whose cold launch takes minutes can show the
 * whole loop in seconds. Time starts at the real now and runs faster from there.
 */
export class ScaledClock implements Clock {
  private readonly origin = Date.now();

  constructor(readonly speed: number) {
    if (!(speed > 0)) throw new RangeError(`speed must be > 0 (got ${speed})`);
  }

  now(): number {
    return this.origin + (Date.now() - this.origin) * this.speed;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return abortable(signal, (done) => {
      const t = setTimeout(done, Math.max(0, ms / this.speed));
      return () => clearTimeout(t);
    });
  }

  after(ms: number, fn: () => void): Cancel {
    const t = setTimeout(fn, Math.max(0, ms / this.speed));
    return () => clearTimeout(t);
  }

  every(ms: number, fn: () => void): Cancel {
    const t = setInterval(fn, Math.max(1, ms / this.speed));
    return () => clearInterval(t);
  }
}
