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
  /** The same, day by day (24 h of trace time from its start), for the days measured. */
  byDay: DayMeasured[];
}

export interface DayMeasured {
  /** Day of the trace, 0 for its first 24 h. */
  day: number;
  servedWarmPct: number;
  idleWarmInstanceHours: number;
  /** Warm instances held on average over the measured part of the day. */
  meanWarm: number;
  warmHits: number;
  coldMisses: number;
}

const DAY_MS = 86_400_000;

/** Per day: warm hits, cold misses, ∫ warm dt (ms) and the measured time (ms). */
interface DayTally {
  hits: number;
  misses: number;
  warmArea: number;
  span: number;
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
  private deficitArea = 0;
  /** Instances of demand not yet served, by the time they arose: oldest first. */
  private readonly waiting: number[] = [];
  private head = 0;
  private readonly waits: number[] = [];
  /** Hits, misses and the warm integral by day of the trace; their sums are the run's. */
  private readonly days: DayTally[] = [];

  /** Measures from `from` (clock ms) on; what happens before only sets the starting counts. */
  constructor(private readonly from: number) {
    this.t = from;
  }

  private dayOf(t: number): DayTally {
    const i = Math.floor(t / DAY_MS);
    for (let d = this.days.length; d <= i; d++) this.days.push({ hits: 0, misses: 0, warmArea: 0, span: 0 });
    return this.days[i]!;
  }

  /** Moves the integrals to `now`. */
  private advance(now: number): void {
    if (now > this.t) {
      let start = Math.max(this.t, this.from);
      if (now > start) {
        this.deficitArea += Math.max(0, this.demand - this.active) * (now - start);
        // The warm integral, split at day boundaries.
        while (start < now) {
          const end = Math.min(now, (Math.floor(start / DAY_MS) + 1) * DAY_MS);
          const day = this.dayOf(start);
          day.warmArea += this.warm * (end - start);
          day.span += end - start;
          start = end;
        }
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
    const day = this.dayOf(now);
    day.hits += warmHits;
    day.misses += coldMisses;
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
    const byDay: DayMeasured[] = [];
    let warmHits = 0;
    let coldMisses = 0;
    let warmArea = 0;
    this.days.forEach((d, day) => {
      warmHits += d.hits;
      coldMisses += d.misses;
      warmArea += d.warmArea;
      if (d.span === 0 && d.hits + d.misses === 0) return;
      byDay.push({
        day,
        servedWarmPct: servedPct(d.hits, d.misses),
        idleWarmInstanceHours: d.warmArea / 3_600_000,
        meanWarm: d.span > 0 ? d.warmArea / d.span : 0,
        warmHits: d.hits,
        coldMisses: d.misses,
      });
    });
    return {
      servedWarmPct: servedPct(warmHits, coldMisses),
      unservedInstanceSeconds: this.deficitArea / 1000,
      waitP50S: quantile(waits, 0.5) / 1000,
      waitP99S: quantile(waits, 0.99) / 1000,
      idleWarmInstanceHours: warmArea / 3_600_000,
      warmHits,
      coldMisses,
      byDay,
    };
  }
}

/** Share of scale-out served from warm, %; full service when none was asked for. */
function servedPct(hits: number, misses: number): number {
  return hits + misses === 0 ? 100 : (100 * hits) / (hits + misses);
}
