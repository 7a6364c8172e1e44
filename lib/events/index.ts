/**
 * What warmpool tells the world: decisions and instance transitions as events. The runtime writes them to
 * the log and (with Kafka configured) to a topic as CloudEvents; tests and the simulator collect them.
 */
export type PoolEventType =
  | 'promoted'
  | 'demoted'
  | 'launched'
  | 'refilled'
  | 'failed'
  | 'adopted'
  | 'forgotten'
  | 'rotated'
  | 'deleted'
  | 'resumed';

export interface PoolEvent {
  type: PoolEventType;
  pool: string;
  /** Clock time of the event (ms). */
  time: number;
  data: Readonly<Record<string, unknown>>;
}

export interface EventSink {
  emit(event: PoolEvent): void;
}

/** Keeps every event in memory: tests, the simulator and /status counters read it. */
export class MemoryEventSink implements EventSink {
  readonly events: PoolEvent[] = [];

  emit(event: PoolEvent): void {
    this.events.push(event);
  }

  of(type: PoolEventType): PoolEvent[] {
    return this.events.filter((e) => e.type === type);
  }
}

/** Sends each event to several sinks. */
export class FanOutSink implements EventSink {
  constructor(private readonly sinks: readonly EventSink[]) {}

  emit(event: PoolEvent): void {
    for (const sink of this.sinks) sink.emit(event);
  }
}
