/**
 * A monotonic deque over the recent points: the sliding minimum (or maximum) of a time window in O(1)
 * amortised per point. Entries run oldest to newest, and their values rise (min deque) or fall (max deque),
 * so the front is the extreme of everything kept. Points closer together than `mergeMs` share one entry,
 * which keeps at most horizon / mergeMs entries whatever the spacing; the merge errs on the safe side (a
 * minimum or maximum lives a little longer than its point).
 */

export interface TimeWindow {
  /** Times (ms), ascending. */
  t: number[];
  /** Values, ascending in a min deque, descending in a max deque. */
  v: number[];
}

/** Entries per window at most (about): the horizon is split into this many merge slots. */
export const WINDOW_SLOTS = 256;

export function emptyWindow(): TimeWindow {
  return { t: [], v: [] };
}

/** Index of the first entry at or after `cutoff` (after it, when `inclusive`): the entries before it are out. */
export function firstKept(w: TimeWindow, cutoff: number, inclusive: boolean): number {
  let k = 0;
  const n = w.t.length;
  while (k < n && (w.t[k]! < cutoff || (inclusive && w.t[k]! === cutoff))) k++;
  return k;
}

/**
 * A new window: `w` without its first `from` entries, with the point (t, v) appended, keeping the deque
 * monotonic (`kind` says whether the front is the minimum or the maximum). `w` is left as it was.
 */
export function slideWindow(
  w: TimeWindow,
  from: number,
  t: number,
  v: number,
  kind: 'min' | 'max',
  mergeMs: number,
): TimeWindow {
  // Entries the new value dominates go from the back.
  let end = w.v.length;
  if (kind === 'min') while (end > from && w.v[end - 1]! >= v) end--;
  else while (end > from && w.v[end - 1]! <= v) end--;
  const times = w.t.slice(from, end);
  const values = w.v.slice(from, end);
  const last = times.length - 1;
  if (last >= 0 && t - times[last]! < mergeMs) {
    // The kept entry is more extreme than v: let it stand in for both, at the newer time.
    times[last] = t;
  } else {
    times.push(t);
    values.push(v);
  }
  return { t: times, v: values };
}
