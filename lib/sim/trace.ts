/**
 * Demand traces for the simulator: a CSV of `t,value` rows (t in seconds from the start, evenly spaced),
 * read strictly (every problem names its line), and turned into instances.
 */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';

export interface Trace {
  /** The file's name without `.csv`. */
  name: string;
  /** Spacing of the rows (ms). */
  stepMs: number;
  /** The value of each row; row i covers [i * stepMs, (i + 1) * stepMs) of trace time. */
  values: Float64Array;
}

export class TraceError extends Error {
  override readonly name = 'TraceError';
}

/**
 * Parses a trace. The header must be `t,value`; t may start anywhere but must rise by the same step on every row;
 * values must be finite and not negative.
 *
 * @example parseTrace('t,value\n0,5\n60,7\n', 'demo') // { name: 'demo', stepMs: 60_000, values: [5, 7] }
 */
export function parseTrace(text: string, name: string): Trace {
  const lines = text.split(/\r?\n/);
  const header = lines[0]?.trim().toLowerCase();
  if (header !== 't,value') {
    throw new TraceError(`${name}: line 1: header must be "t,value" (got "${lines[0] ?? ''}")`);
  }
  const values: number[] = [];
  let prev = Number.NaN;
  let step = Number.NaN;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === '') continue;
    const comma = line.indexOf(',');
    const where = `${name}: line ${i + 1}`;
    if (comma < 0 || line.indexOf(',', comma + 1) >= 0) {
      throw new TraceError(`${where}: expected "t,value" (got "${line}")`);
    }
    const t = Number(line.slice(0, comma));
    const v = Number(line.slice(comma + 1));
    if (!Number.isFinite(t)) throw new TraceError(`${where}: t "${line.slice(0, comma)}" is not a number`);
    if (!Number.isFinite(v) || v < 0) {
      throw new TraceError(`${where}: value "${line.slice(comma + 1)}" must be a number ≥ 0`);
    }
    if (values.length === 1) {
      step = t - prev;
      if (!(step > 0)) throw new TraceError(`${where}: t must increase (${t} after ${prev})`);
    } else if (Math.abs(t - prev - step) > 1e-6 * step) {
      throw new TraceError(
        `${where}: rows must be evenly spaced: t ${t} after ${prev} (step ${step} s from the first rows)`,
      );
    }
    prev = t;
    values.push(v);
  }
  if (values.length < 2) throw new TraceError(`${name}: needs at least two rows (got ${values.length})`);
  return { name, stepMs: step * 1000, values: Float64Array.from(values) };
}

export async function loadTrace(path: string): Promise<Trace> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new TraceError(`cannot read trace ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  return parseTrace(text, basename(path).replace(/\.csv$/i, ''));
}

export type DemandScale = { perInstance: number } | { peakInstances: number };

/**
 * Demand in instances, row by row: `ceil(value / perInstance)`, where `peakInstances` sets perInstance so
 * that the trace's peak needs exactly that many.
 *
 * @example toDemand(trace, { peakInstances: 100 }) // the peak row needs 100 instances
 */
export function toDemand(trace: Trace, scale: DemandScale): { perInstance: number; demand: Int32Array } {
  let perInstance: number;
  if ('perInstance' in scale) perInstance = scale.perInstance;
  else {
    let peak = 0;
    for (const v of trace.values) peak = Math.max(peak, v);
    if (peak === 0) throw new TraceError(`${trace.name}: every value is 0; use --per-instance`);
    perInstance = peak / scale.peakInstances;
  }
  const demand = new Int32Array(trace.values.length);
  for (let i = 0; i < demand.length; i++) demand[i] = Math.ceil(trace.values[i]! / perInstance - 1e-9);
  return { perInstance, demand };
}
