/**
 * The benches' command lines: integer options with defaults, and --json. A bad value is named with what it
 * must be, and the bench exits 2 before it starts.
 *
 * @example const { json, ints } = benchArgs('bench:decide', { pools: { default: 1000 } });
 */
import { parseArgs } from 'node:util';

export interface IntOption {
  default: number;
  /** The smallest value allowed (default 1). */
  min?: number;
}

export function benchArgs<K extends string>(
  bench: string,
  options: Record<K, IntOption>,
): { json: boolean; ints: Record<K, number> } {
  const names = Object.keys(options) as K[];
  const fail = (why: string): never => {
    process.stderr.write(`${bench}: ${why}\n`);
    process.exit(2);
  };
  let values: Record<string, string | boolean | undefined> = {};
  try {
    values = parseArgs({
      options: {
        json: { type: 'boolean', default: false },
        ...Object.fromEntries(
          names.map((name) => [name, { type: 'string' as const, default: String(options[name].default) }]),
        ),
      },
    }).values as Record<string, string | boolean | undefined>;
  } catch (err) {
    // An unknown option, or a value that looks like one: say so in one line, not with a stack.
    fail((err as Error).message.split('\n')[0]!);
  }
  const ints = {} as Record<K, number>;
  for (const name of names) {
    const text = String(values[name]);
    const v = Number(text);
    const min = options[name].min ?? 1;
    if (!Number.isInteger(v) || v < min) {
      fail(`--${name} must be ${min === 1 ? 'a positive integer' : `an integer ≥ ${min}`} (got ${text})`);
    }
    ints[name] = v;
  }
  return { json: values.json === true, ints };
}
