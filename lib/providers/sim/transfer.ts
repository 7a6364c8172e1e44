/**
 * Processor-sharing image transfers: every transfer in flight pulls from one image store and over its host's
 * link, and each gets `min(storeBw / transfersFromStore, hostBw / transfersOnItsHost)`. Rates change only when
 * a transfer starts, ends or is cancelled, so the pool is event-driven: on each such event it brings every
 * transfer's progress up to now, recomputes the rates and sets one timer for the earliest completion. That
 * is O(active transfers) per event and no polling, which keeps a 1000-instance launch cheap.
 */
import type { Cancel, Clock } from '../../clock/index.js';

interface Transfer {
  host: string;
  /** Bytes still to move. */
  remaining: number;
  /** Bytes per ms at the current share. */
  rate: number;
  done: () => void;
}

/** Below this many bytes a transfer counts as done; absorbs float error and early wall-clock timers. */
const DONE_EPSILON_BYTES = 1;
/**
 * A transfer this close to done (ms at its rate) counts as done too: a clock that counts from the epoch
 * resolves only ~0.2 µs, so a remainder smaller than that would reschedule the timer at the same instant
 * forever.
 */
const DONE_EPSILON_MS = 0.01;

export class TransferPool {
  private readonly active = new Set<Transfer>();
  private readonly perHost = new Map<string, number>();
  private lastUpdate: number;
  private cancelTimer: Cancel | undefined;

  /**
   * @param storeBytesPerSec egress of the image store, shared by every transfer
   * @param hostBytesPerSec link of each host, shared by the transfers to that host
   */
  constructor(
    private readonly clock: Clock,
    private readonly storeBytesPerSec: number,
    private readonly hostBytesPerSec: number,
  ) {
    this.lastUpdate = clock.now();
  }

  /** Transfers in flight. */
  get size(): number {
    return this.active.size;
  }

  /** Starts moving `bytes` to `host`; `done` runs when they have arrived. The returned handle cancels. */
  start(host: string, bytes: number, done: () => void): Cancel {
    this.progress();
    const transfer: Transfer = { host, remaining: bytes, rate: 0, done };
    this.active.add(transfer);
    this.perHost.set(host, (this.perHost.get(host) ?? 0) + 1);
    this.reshare();
    return () => {
      if (!this.active.has(transfer)) return;
      this.progress();
      this.remove(transfer);
      this.reshare();
    };
  }

  private remove(transfer: Transfer): void {
    this.active.delete(transfer);
    const n = (this.perHost.get(transfer.host) ?? 1) - 1;
    if (n > 0) this.perHost.set(transfer.host, n);
    else this.perHost.delete(transfer.host);
  }

  /** Brings every transfer's remaining bytes up to the clock's now at the rates that held since. */
  private progress(): void {
    const now = this.clock.now();
    const dt = now - this.lastUpdate;
    this.lastUpdate = now;
    if (dt <= 0) return;
    for (const t of this.active) t.remaining -= t.rate * dt;
  }

  /** Recomputes each transfer's share and sets the one timer for the earliest completion. */
  private reshare(): void {
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    if (this.active.size === 0) return;
    const storeShare = this.storeBytesPerSec / 1000 / this.active.size;
    let soonest = Number.POSITIVE_INFINITY;
    for (const t of this.active) {
      const hostShare = this.hostBytesPerSec / 1000 / (this.perHost.get(t.host) ?? 1);
      t.rate = Math.min(storeShare, hostShare);
      soonest = Math.min(soonest, Math.max(0, t.remaining) / t.rate);
    }
    this.cancelTimer = this.clock.after(soonest, () => this.onTimer());
  }

  private onTimer(): void {
    this.cancelTimer = undefined;
    this.progress();
    const finished: Transfer[] = [];
    for (const t of this.active) {
      if (t.remaining <= Math.max(DONE_EPSILON_BYTES, t.rate * DONE_EPSILON_MS)) finished.push(t);
    }
    for (const t of finished) this.remove(t);
    this.reshare();
    // Callbacks run after the pool is consistent, so one may start the next transfer at once.
    for (const t of finished) t.done();
  }
}
