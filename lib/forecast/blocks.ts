/**
 * Bins stored as blocks of 24 (seasonal knots, histogram counts), so that a pure update copies the block it
 * changes, not the whole array: a point touches two knots of each season and one histogram bin, and copying
 * 288 daily, 168 weekly and 80 histogram numbers for that would make the copy, not the arithmetic, the cost
 * of a point. A block of hourly weekly knots is one day.
 */

export type Blocks = number[][];

export const BLOCK = 24;

export function zeroBlocks(n: number): Blocks {
  const blocks: Blocks = [];
  for (let i = 0; i < n; i += BLOCK) blocks.push(new Array<number>(Math.min(BLOCK, n - i)).fill(0));
  return blocks;
}

export function blockGet(b: Blocks, i: number): number {
  return b[(i / BLOCK) | 0]![i % BLOCK]!;
}

/**
 * Bins `out` with `delta` added to bin i, copying on write: `out` is the array being built for a new state,
 * `prev` the previous state's. While they are the same array it is copied first, and a block still shared
 * with `prev` is copied the first time it changes; so `prev` (and any state sharing its blocks) stays as it
 * was, and an update copies only what it touches.
 */
export function blockAdd(out: Blocks, prev: Blocks, i: number, delta: number): Blocks {
  const outer = out === prev ? prev.slice() : out;
  const b = (i / BLOCK) | 0;
  let block = outer[b]!;
  if (block === prev[b]) {
    block = block.slice();
    outer[b] = block;
  }
  block[i % BLOCK] = block[i % BLOCK]! + delta;
  return outer;
}

export function toFlat(b: Blocks): number[] {
  return b.flat();
}

export function fromFlat(values: readonly number[]): Blocks {
  const blocks: Blocks = [];
  for (let i = 0; i < values.length; i += BLOCK) blocks.push(values.slice(i, i + BLOCK));
  return blocks;
}

/** Whether `x` is blocks of finite numbers holding `n` bins, as `zeroBlocks(n)` lays them out. */
export function isBlocks(x: unknown, n: number): x is Blocks {
  if (!Array.isArray(x) || x.length !== Math.ceil(n / BLOCK)) return false;
  return x.every(
    (block, b) =>
      Array.isArray(block) &&
      block.length === Math.min(BLOCK, n - b * BLOCK) &&
      block.every((v) => typeof v === 'number' && Number.isFinite(v)),
  );
}
