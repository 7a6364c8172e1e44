/**
 * What a simulated run measured, from the moment measurement starts (after the warm-up): demand against
 * the instances in service over time, the wait of every instance of scale-out demand, and the warm
 * instances held idle. Fed by the trace (demand) and the store (every change of an instance's state).
 */
import type { InstanceState } from '../domain/index.js';

export interface Measured {
  /** Scale-out demand (instances the controller asked for) served at once from the warm pool, %. */
  servedWarmPct: number;
  /** ∫ max(0, demand − in service) dt, instance-seconds. */
  unservedInstanceSeconds: number;
  /** Wait for capacity of each instance of demand above what served, from the rise to an instance in service. */
  waitP50S: number;
  waitP99S: number;
  /** ∫ warm instances dt, instance-hours. */
  idleWarmInstanceHours: number;
  warmHits: number;
  coldMisses: number;
}

export function quantile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

export class Meter {
  private t: number;
  private demand = 0;
  private active = 0;
  private warm = 0;
  private warmArea = 0;
  private deficitArea = 0;
  /** Instances of demand not yet served, by the time they arose: oldest first. */
  private readonly waiting: number[] = [];
  private head = 0;
  private readonly waits: number[] = [];
  private warmHits = 0;
  private coldMisses = 0;

  /** Measures from `from` (clock ms) on; what happens before only sets the starting counts. */
  constructor(private readonly from: number) {
    this.t = from;
  }

  /** Moves the integrals to `now`. */
  private advance(now: number): void {
    if (now > this.t) {
      const start = Math.max(this.t, this.from);
      if (now > start) {
        this.warmArea += this.warm * (now - start);
        this.deficitArea += Math.max(0, this.demand - this.active) * (now - start);
      }
      this.t = now;
    }
  }

  private get deficit(): number {
    return this.waiting.length - this.head;
  }

  /** Demand (instances) from `now` on. */
  setDemand(demand: number, now: number): void {
    this.advance(now);
    this.demand = demand;
    this.rebalance(now, false);
  }

  /** An instance left state `from` and entered `to` (undefined: it is new, or gone). */
  change(from: InstanceState | undefined, to: InstanceState | undefined, now: number): void {
    this.advance(now);
    if (from === 'warm') this.warm--;
    if (to === 'warm') this.warm++;
    if (from === 'active') this.active--;
    if (to === 'active') this.active++;
    this.rebalance(now, to === 'active');
  }

  /** Counts the controller's promotion: how much of the asked-for demand the warm pool served. */
  promoted(warmHits: number, coldMisses: number, now: number): void {
    if (now < this.from) return;
    this.warmHits += warmHits;
    this.coldMisses += coldMisses;
  }

  /** Keeps one waiting entry per instance of unserved demand; an instance in service serves the oldest. */
  private rebalance(now: number, served: boolean): void {
    const want = Math.max(0, this.demand - this.active);
    while (this.deficit < want) this.waiting.push(now);
    while (this.deficit > want) {
      if (served) {
        const since = this.waiting[this.head++]!;
        if (since >= this.from) this.waits.push(now - since);
      } else {
        // Demand fell: the newest unserved instances are no longer wanted.
        this.waiting.pop();
      }
    }
    if (this.head > 1024 && this.head * 2 > this.waiting.length) {
      this.waiting.splice(0, this.head);
      this.head = 0;
    }
  }

  /** Counts at this moment, for the plot. */
  sample(): { demand: number; active: number; warm: number } {
    return { demand: this.demand, active: this.active, warm: this.warm };
  }

  finish(now: number): Measured {
    this.advance(now);
    const waits = Float64Array.from(this.waits).sort();
    const asked = this.warmHits + this.coldMisses;
    return {
      servedWarmPct: asked === 0 ? 100 : (100 * this.warmHits) / asked,
      unservedInstanceSeconds: this.deficitArea / 1000,
      waitP50S: quantile(waits, 0.5) / 1000,
      waitP99S: quantile(waits, 0.99) / 1000,
      idleWarmInstanceHours: this.warmArea / 3_600_000,
      warmHits: this.warmHits,
      coldMisses: this.coldMisses,
    };
  }
}
