/**
 * An exponentially decayed histogram of non-negative values over geometric bins, for high quantiles that
 * follow a changing workload. Decay is by time, not by count: a value's weight halves every `halfLifeMs`.
 * Instead of shrinking every bin on each add (O(bins)), each new value weighs 2^((t − ref) / halfLife),
 * and the bins are rescaled once the exponent grows large: O(1) amortised per add.
 *
 * Bins: [0] holds exact zeros (a forecast that was right, a flat load), [1] (0, r], then
 * [i] (r·1.2^(i−2), r·1.2^(i−1)] for the resolution r; the last bin also takes everything above its range.
 */
import { BLOCK, type Blocks, blockAdd, zeroBlocks } from './blocks.js';

export interface DecayedHistogram {
  /** Time (ms) at which an added value weighs 1. */
  ref: number;
  /** Decayed weight per bin, in blocks of 24 (blocks.ts): an add copies one block, not all 80 bins. */
  counts: Blocks;
}

export interface HistogramParams {
  /** Upper edge of the first non-zero bin. */
  resolution: number;
  halfLifeMs: number;
}

export const HISTOGRAM_BINS = 80;
const RATIO = 1.2;
const LOG_RATIO = Math.log(RATIO);
/** Rescale once new values would weigh 2^50: far from overflow, and rare (every 50 half-lives). */
const MAX_EXPONENT = 50;

export function emptyHistogram(): DecayedHistogram {
  return { ref: 0, counts: zeroBlocks(HISTOGRAM_BINS) };
}

function binOf(value: number, resolution: number): number {
  if (!(value > 0)) return 0;
  if (value <= resolution) return 1;
  const k = Math.ceil(Math.log(value / resolution) / LOG_RATIO);
  return Math.min(HISTOGRAM_BINS - 1, Math.max(2, k + 1));
}

function upperEdge(bin: number, resolution: number): number {
  return bin === 0 ? 0 : resolution * RATIO ** (bin - 1);
}

/** The histogram with `value` added at time `t` (ms); `h` is left as it was. */
export function histogramAdd(
  h: DecayedHistogram,
  value: number,
  t: number,
  p: HistogramParams,
): DecayedHistogram {
  let { ref } = h;
  let prev = h.counts;
  let exponent = (t - ref) / p.halfLifeMs;
  if (exponent > MAX_EXPONENT) {
    // Underflows to 0 after a long silence, which is right: that history has decayed away.
    const scale = 2 ** -exponent;
    prev = prev.map((block) => block.map((c) => c * scale));
    ref = t;
    exponent = 0;
  }
  return { ref, counts: blockAdd(prev, prev, binOf(value, p.resolution), 2 ** exponent) };
}

/**
 * The q-quantile of the values, or undefined while the histogram is empty. `upper` gives the upper edge of
 * the bin that holds the quantile, never below the sample quantile and at most 20 % above it (what a bound
 * needs); `interpolate` places it inside that bin (a central estimate).
 */
export function histogramQuantile(
  h: DecayedHistogram,
  q: number,
  mode: 'upper' | 'interpolate',
  p: HistogramParams,
): number | undefined {
  // Walked block by block, not flattened: this runs at every decision of every pool.
  let total = 0;
  for (const block of h.counts) for (const c of block) total += c;
  if (!(total > 0)) return undefined;
  const target = Math.min(1, Math.max(0, q)) * total;
  let cumulative = 0;
  let last = 0;
  for (let b = 0; b < h.counts.length; b++) {
    const block = h.counts[b]!;
    for (let j = 0; j < block.length; j++) {
      const c = block[j]!;
      if (c <= 0) continue;
      const i = b * BLOCK + j;
      last = i;
      if (cumulative + c >= target) {
        if (mode === 'upper' || i === 0) return upperEdge(i, p.resolution);
        const f = Math.min(1, Math.max(0, (target - cumulative) / c));
        return i === 1 ? f * p.resolution : upperEdge(i - 1, p.resolution) * RATIO ** f;
      }
      cumulative += c;
    }
  }
  // Rounding left the target a hair above the sum.
  return upperEdge(last, p.resolution);
}
