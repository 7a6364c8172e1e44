import type { Cancel, Clock } from './clock.js';

interface Timer {
  at: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

/** Lets every queued promise continuation run before the clock moves on. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * A discrete-event clock: time stands still until the owner advances it, and then jumps from one timer to
 * the next. `run(fn)` drives it until `fn` settles, which is how tests and the simulator execute hours of
 * cloud time in milliseconds. Timers due at the same instant fire in the order they were set.
 */
export class VirtualClock implements Clock {
  private t: number;
  private seq = 0;
  private readonly heap: Timer[] = [];

  constructor(start = 0) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const timer = this.schedule(ms, () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      });
      const onAbort = () => {
        timer.cancelled = true;
        reject(signal?.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  after(ms: number, fn: () => void): Cancel {
    const timer = this.schedule(ms, fn);
    return () => {
      timer.cancelled = true;
    };
  }

  every(ms: number, fn: () => void): Cancel {
    if (!(ms > 0)) throw new RangeError(`interval must be > 0 (got ${ms})`);
    let timer: Timer;
    const tick = () => {
      timer = this.schedule(ms, tick);
      fn();
    };
    timer = this.schedule(ms, tick);
    return () => {
      timer.cancelled = true;
    };
  }

  /** Number of timers still due. */
  get pending(): number {
    return this.heap.reduce((n, t) => n + (t.cancelled ? 0 : 1), 0);
  }

  /** Fires every timer due up to `now + ms`, in order, letting continuations run after each. */
  async advance(ms: number): Promise<void> {
    const until = this.t + ms;
    for (;;) {
      await settle();
      const next = this.peek();
      if (!next || next.at > until) break;
      this.fireNext();
    }
    this.t = Math.max(this.t, until);
    await settle();
  }

  /**
   * Runs `fn` and moves time forward, timer by timer, until its promise settles. Throws when the promise is
   * still pending but nothing is scheduled (it waits on something this clock does not drive), or when
   * `limitMs` of virtual time pass first.
   */
  async run<T>(fn: () => Promise<T>, limitMs = Number.POSITIVE_INFINITY): Promise<T> {
    const deadline = this.t + limitMs;
    let done = false;
    const p = fn().finally(() => {
      done = true;
    });
    p.catch(() => undefined);
    for (;;) {
      await settle();
      if (done) return p;
      const next = this.peek();
      if (!next) {
        // Give continuations that hop through several macrotasks a few more turns before calling it stuck.
        for (let i = 0; i < 10 && !done && !this.peek(); i++) await settle();
        if (done) return p;
        if (!this.peek()) throw new Error('VirtualClock.run: the task is pending but no timer is due');
        continue;
      }
      if (next.at > deadline) throw new Error(`VirtualClock.run: still pending after ${limitMs} ms`);
      this.fireNext();
    }
  }

  private schedule(ms: number, fn: () => void): Timer {
    const timer: Timer = { at: this.t + Math.max(0, ms), seq: this.seq++, fn, cancelled: false };
    this.push(timer);
    return timer;
  }

  private peek(): Timer | undefined {
    while (this.heap.length > 0 && this.heap[0]!.cancelled) this.pop();
    return this.heap[0];
  }

  private fireNext(): void {
    const timer = this.pop();
    if (!timer) return;
    this.t = Math.max(this.t, timer.at);
    timer.fn();
  }

  private less(a: Timer, b: Timer): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }

  private push(timer: Timer): void {
    const h = this.heap;
    h.push(timer);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(h[i]!, h[parent]!)) break;
      [h[i], h[parent]] = [h[parent]!, h[i]!];
      i = parent;
    }
  }

  private pop(): Timer | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.less(h[l]!, h[m]!)) m = l;
        if (r < h.length && this.less(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}
