/**
 * zod issues as plain English, one line per problem, each naming the field: `value: must be a number
 * (got "abc")`, `pools[0].warm.hosts[2].max: must be >= min (got 1 < 3)`. Shared by the config loader and
 * every decoder of outside input (metrics, webhooks), so an operator reads the same kind of message
 * wherever bad input is refused.
 */
import type { z } from 'zod';

export interface Problem {
  path: PropertyKey[];
  message: string;
}

export interface DescribeOptions {
  /** Path of the validated value inside a larger document. */
  prefix?: readonly PropertyKey[];
  /** The whole document, for hooks that look around (e.g. the keys allowed beside an unknown one). */
  root?: unknown;
  /** Paths whose values must never be echoed (credentials). */
  sensitive?: (path: readonly PropertyKey[]) => boolean;
  /** The message for an unknown key, e.g. with a "did you mean" hint. */
  unknownKey?: (key: string, objectPath: readonly PropertyKey[], root: unknown) => string;
}

/**
 * Writes a path the way a document reads: arrays as `[i]`, keys as `.key`, odd keys quoted.
 * @example formatPath(['pools', 0, 'warm', 'hosts', 2, 'max']) // 'pools[0].warm.hosts[2].max'
 */
export function formatPath(path: readonly PropertyKey[], rootName = '(root)'): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else {
      const key = String(segment);
      if (/^[A-Za-z0-9_-]+$/.test(key)) out += out === '' ? key : `.${key}`;
      else out += `[${JSON.stringify(key)}]`;
    }
  }
  return out === '' ? rootName : out;
}

/**
 * One line per problem, each starting with the field's path.
 * @example formatIssues(schema.safeParse(body).error.issues) // ['value: must be a number (got "x")']
 */
export function formatIssues(issues: readonly z.core.$ZodIssue[], options: DescribeOptions = {}): string[] {
  return describeIssues(issues, options).map((p) => `${formatPath(p.path)}: ${p.message}`);
}

const TYPE_NAMES: Readonly<Record<string, string>> = {
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  object: 'a map',
  record: 'a map',
  array: 'a list',
  null: 'null',
};

/** The problems of a failed parse, with plain-English messages and full paths. */
export function describeIssues(
  issues: readonly z.core.$ZodIssue[],
  options: DescribeOptions = {},
): Problem[] {
  return issues.flatMap((issue) => describeIssue(issue, options));
}

function describeIssue(issue: z.core.$ZodIssue, options: DescribeOptions): Problem[] {
  const path = [...(options.prefix ?? []), ...issue.path];
  const hidden = options.sensitive?.(path) ?? false;
  const got = (value: unknown) => (hidden ? '' : ` (got ${describeValue(value)})`);
  const one = (message: string): Problem[] => [{ path, message }];
  const nested = (inner: readonly z.core.$ZodIssue[]) => describeIssues(inner, { ...options, prefix: path });
  switch (issue.code) {
    case 'invalid_type':
      if (issue.input === undefined) return one('required');
      return one(`must be ${TYPE_NAMES[issue.expected] ?? issue.expected}${got(issue.input)}`);
    case 'too_small':
      if (issue.origin === 'string')
        return one(
          issue.minimum === 1 ? 'must not be empty' : `must be at least ${issue.minimum} characters`,
        );
      if (issue.origin === 'array')
        return one(
          `must have at least ${issue.minimum} ${issue.minimum === 1 ? 'entry' : 'entries'}${got(Array.isArray(issue.input) ? issue.input.length : issue.input)}`,
        );
      return one(`must be ${issue.inclusive ? '>=' : '>'} ${issue.minimum}${got(issue.input)}`);
    case 'too_big':
      if (issue.origin === 'string') return one(`must be at most ${issue.maximum} characters`);
      if (issue.origin === 'array') return one(`must have at most ${issue.maximum} entries`);
      return one(`must be ${issue.inclusive ? '<=' : '<'} ${issue.maximum}${got(issue.input)}`);
    case 'invalid_value': {
      if (issue.input === undefined) return one('required');
      const values = issue.values.map((value) => String(value));
      return one(
        `must be ${values.length === 1 ? values[0] : `one of: ${values.join(', ')}`}${got(issue.input)}`,
      );
    }
    case 'invalid_format':
      // A regex carries its own plain-English rule as its message.
      return one(
        `${issue.format === 'regex' ? issue.message : `must be a valid ${issue.format}`}${got(issue.input)}`,
      );
    case 'unrecognized_keys':
      return issue.keys.map((key) => ({
        path: [...path, key],
        message: options.unknownKey?.(key, path, options.root) ?? 'unknown key',
      }));
    case 'invalid_union':
      return describeUnion(issue, path, options, got);
    case 'invalid_key':
      return nested(issue.issues).map((problem) => ({
        path: problem.path,
        message: `name ${problem.message}`,
      }));
    default:
      return one(issue.message);
  }
}

function describeUnion(
  issue: z.core.$ZodIssueInvalidUnion,
  path: PropertyKey[],
  options: DescribeOptions,
  got: (value: unknown) => string,
): Problem[] {
  if (issue.discriminator !== undefined) {
    // zod puts the discriminator on the path and the whole object in `input`.
    const value = isRecord(issue.input) ? issue.input[issue.discriminator] : undefined;
    const choices = 'options' in issue && issue.options ? issue.options.map(String).join(', ') : '';
    if (value === undefined) return [{ path, message: `required (one of: ${choices})` }];
    return [{ path, message: `must be one of: ${choices}${got(value)}` }];
  }
  // A branch whose only complaint is the value's type at the top did not apply; the other one explains.
  const wrongType = (branch: readonly z.core.$ZodIssue[]) =>
    branch.every((inner) => inner.code === 'invalid_type' && inner.path.length === 0);
  const applicable = issue.errors.find((branch) => !wrongType(branch));
  if (applicable) return describeIssues(applicable, { ...options, prefix: path });
  const expected = issue.errors.flatMap((branch) =>
    branch.flatMap((inner) =>
      inner.code === 'invalid_type' ? [TYPE_NAMES[inner.expected] ?? inner.expected] : [],
    ),
  );
  return [{ path, message: `must be ${[...new Set(expected)].join(' or ')}${got(issue.input)}` }];
}

/** A value as a message shows it: short strings quoted, collections by kind only. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a map';
  if (typeof value === 'string') {
    const shown = value.length > 40 ? `${value.slice(0, 40)}…` : value;
    return JSON.stringify(shown);
  }
  return String(value);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
