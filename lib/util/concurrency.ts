/**
 * Runs `fn` over `items` with at most `limit` calls in flight, in order of the items, and resolves with the
 * results in the same order. Errors are returned as `{ error }` entries rather than thrown, so one failed
 * wake or launch never abandons the others mid-flight.
 *
 * @example
 * const results = await mapLimit(ids, 32, (id) => provider.wake(id, 'paused'));
 */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<Array<{ value: R } | { error: unknown }>> {
  const results = new Array<{ value: R } | { error: unknown }>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      try {
        results[i] = { value: await fn(items[i]!, i) };
      } catch (error) {
        results[i] = { error };
      }
    }
  };
  const workers = Math.max(1, Math.min(limit, items.length));
  await Promise.all(Array.from({ length: workers }, worker));
  return results;
}

/** Bounded concurrency shared between callers, e.g. launches per host across one refill. */
export class Semaphore {
  private active = 0;
  private readonly queue: Array<() => void> = [];

  constructor(private readonly limit: number) {}

  async use<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.queue.push(resolve));
    this.active++;
    try {
      return await fn();
    } finally {
      this.active--;
      this.queue.shift()?.();
    }
  }
}
