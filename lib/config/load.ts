/**
 * Loading a config: read the file (or take the embedded default), apply `WARMPOOL__…` environment overrides to
 * the raw document, validate, compile. Every failure is a ConfigError with one line per problem that names the
 * field, so an operator can fix them all at once; nothing is half-applied, since the caller only ever gets a
 * complete, valid result.
 */
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import YAML from 'yaml';
import type { z } from 'zod';
import type { PoolSpec } from '../domain/index.js';
import { describeIssues, describeValue } from '../util/index.js';
import { compilePools } from './compile.js';
import { embeddedConfig } from './defaults.js';
import { ConfigError, formatPath } from './errors.js';
import { ConfigSchema, type WarmpoolConfig } from './schema.js';

export interface LoadedConfig {
  config: WarmpoolConfig;
  pools: PoolSpec[];
  /** Where the config came from: the file path or `embedded default`. */
  source: string;
}

export interface LoadOptions {
  /** A YAML or JSON file; undefined takes the embedded default. */
  path?: string;
  /** Where to read overrides from; `process.env` when undefined. */
  env?: NodeJS.ProcessEnv;
}

export const EMBEDDED_SOURCE = 'embedded default';
export const ENV_PREFIX = 'WARMPOOL__';
/** Shorthands for the two knobs an operator turns most, beside the general `WARMPOOL__a__b` form. */
export const ENV_SHORTHANDS: Readonly<Record<string, readonly string[]>> = {
  WARMPOOL_LOG_LEVEL: ['controller', 'logLevel'],
  WARMPOOL_HTTP_PORT: ['controller', 'http', 'port'],
};

/**
 * Reads, overrides, validates and compiles a config.
 * @example const { config, pools } = await loadConfig({ path: 'config/warmpool.yaml' });
 */
export async function loadConfig(options: LoadOptions = {}): Promise<LoadedConfig> {
  const env = options.env ?? process.env;
  if (options.path === undefined) return parseConfig(embeddedConfig(), EMBEDDED_SOURCE, env);
  let text: string;
  try {
    text = await readFile(options.path, 'utf8');
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code ?? (err instanceof Error ? err.message : String(err));
    throw new ConfigError(options.path, [`cannot read the file (${reason})`], { cause: err });
  }
  return parseConfig(parseConfigText(text, options.path), options.path, env);
}

/**
 * Parses YAML or JSON text (JSON is YAML) into a raw document; syntax errors become a ConfigError whose lines
 * name line and column.
 * @example parseConfigText('pools: []', 'inline') // { pools: [] }
 */
export function parseConfigText(text: string, source: string): unknown {
  const doc = YAML.parseDocument(text);
  // Only the first syntax error: the parser's later ones are mostly the same mistake seen again.
  const [err] = doc.errors;
  if (err) {
    const pos = err.linePos?.[0];
    // yaml appends the position and a source excerpt over several lines; keep the one-line reason.
    const reason = (err.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '');
    throw new ConfigError(source, [pos ? `line ${pos.line}, column ${pos.col}: ${reason}` : reason], {
      cause: err,
    });
  }
  if (doc.contents === null) throw new ConfigError(source, ['the document is empty']);
  return doc.toJS();
}

/**
 * Applies env overrides to a raw document, validates it and compiles its pools. Pure apart from reading the
 * host name for a default controller id; `raw` is never modified.
 * @example const { pools } = parseConfig(embeddedConfig(), 'embedded default', { WARMPOOL_HTTP_PORT: '9090' });
 */
export function parseConfig(raw: unknown, source: string, env: NodeJS.ProcessEnv = {}): LoadedConfig {
  const { doc, overrides } = applyEnvOverrides(raw, env);
  const result = ConfigSchema.safeParse(doc, { reportInput: true });
  if (!result.success) {
    const problems = describeIssues(result.error.issues, {
      root: doc,
      sensitive: isSensitive,
      unknownKey,
    }).map((problem) => {
      // A line caused by an override names it: the file alone would not explain the value.
      // The last override on a path is the one whose value stands.
      const override = overrides.findLast((o) => isPrefix(o.path, problem.path));
      const line = `${formatPath(problem.path)}: ${problem.message}`;
      return override ? `${line} (from env ${override.variable})` : line;
    });
    throw new ConfigError(source, problems);
  }
  const config = result.data;
  if (config.controller.id === '') config.controller.id = `${hostname()}-${process.pid}`;
  return { config, pools: compilePools(config), source };
}

// ---------------------------------------------------------------------------------------------------------
// environment overrides

export interface AppliedOverride {
  variable: string;
  /** The config path the variable set, pools resolved to their index. */
  path: PropertyKey[];
}

const FORBIDDEN_KEYS = new Set(['__proto__', 'prototype', 'constructor']);

/**
 * A copy of `raw` with the overrides from `env` applied: the shorthands first, then `WARMPOOL__a__b__c=value`
 * in name order. Values are YAML scalars (`9090` a number, `true` a boolean, `null` removes the key so its
 * default applies; `[a, b]` and `{ k: v }` flow collections are read too). A segment after `pools` selects a
 * pool by name, or by index when numeric. Throws a ConfigError naming the variable when a path cannot be
 * followed; only WARMPOOL variables are read, so no other variable's value can reach a message.
 * @example applyEnvOverrides(raw, { WARMPOOL__pools__web__leaseSeconds: '60' }).doc
 */
export function applyEnvOverrides(
  raw: unknown,
  env: NodeJS.ProcessEnv,
): { doc: unknown; overrides: AppliedOverride[] } {
  const wanted: { variable: string; segments: string[]; value: string }[] = [];
  for (const [variable, segments] of Object.entries(ENV_SHORTHANDS)) {
    const value = env[variable];
    if (value !== undefined) wanted.push({ variable, segments: [...segments], value });
  }
  for (const variable of Object.keys(env).sort()) {
    const value = env[variable];
    if (!variable.startsWith(ENV_PREFIX) || value === undefined) continue;
    wanted.push({ variable, segments: variable.slice(ENV_PREFIX.length).split('__'), value });
  }
  // A copy even with no overrides: the caller's document stays as it was, whatever happens next.
  const doc: unknown = structuredClone(raw);
  if (wanted.length === 0) return { doc, overrides: [] };
  if (!isRecord(doc)) return { doc, overrides: [] }; // validation says what is wrong with the document

  const failed: string[] = [];
  const problems: string[] = [];
  const overrides: AppliedOverride[] = [];
  for (const { variable, segments, value } of wanted) {
    try {
      overrides.push({ variable, path: setPath(doc, segments, parseEnvValue(value)) });
    } catch (err) {
      if (!(err instanceof OverrideProblem)) throw err;
      failed.push(variable);
      problems.push(`${variable}: ${err.message}`);
    }
  }
  if (problems.length > 0) throw new ConfigError(`env ${failed.join(', ')}`, problems);
  return { doc, overrides };
}

class OverrideProblem extends Error {}

/** Reads an env value as a YAML scalar, or a flow collection when it looks like one. */
function parseEnvValue(value: string): unknown {
  if (value === '') return '';
  const trimmed = value.trim();
  if (trimmed.startsWith('[') || trimmed.startsWith('{')) {
    try {
      return YAML.parse(value);
    } catch (err) {
      const reason = err instanceof Error ? (err.message.split('\n')[0] ?? '') : String(err);
      throw new OverrideProblem(`not valid YAML: ${reason}`);
    }
  }
  try {
    const parsed: unknown = YAML.parse(value);
    // `a: b` parses as a map; a value that is not a scalar was meant as text.
    return parsed !== null && typeof parsed === 'object' ? value : parsed;
  } catch {
    return value;
  }
}

/** Sets `value` at `segments` in `doc`, creating missing maps; returns the resolved path. */
function setPath(doc: Record<string, unknown>, segments: readonly string[], value: unknown): PropertyKey[] {
  if (segments.some((segment) => segment === '')) throw new OverrideProblem('empty path segment');

  const path: PropertyKey[] = [];
  let container: Record<string, unknown> | unknown[] = doc;
  for (const [i, segment] of segments.entries()) {
    const last = i === segments.length - 1;
    let key: string | number;
    if (Array.isArray(container)) {
      key = selectElement(container, segment, path);
    } else {
      key = segment;
      // Names like `constructor` select pools fine; as map keys they would reach the prototype.
      if (FORBIDDEN_KEYS.has(key)) throw new OverrideProblem(`"${key}" cannot be set`);
      if (!last && !Object.hasOwn(container, key)) {
        if (path.length === 0 && key === 'pools')
          throw new OverrideProblem(`no pool named "${segments[1]}" (the config has no pools)`);
        container[key] = {};
      }
    }
    path.push(key);
    if (last) {
      if (Array.isArray(container)) container[key as number] = value;
      else if (value === null) delete container[key];
      else container[key] = value;
      return path;
    }
    const next: unknown = Array.isArray(container) ? container[key as number] : container[key as string];
    if (!Array.isArray(next) && !isRecord(next))
      throw new OverrideProblem(
        `${formatPath(path)} is ${isSensitive(path) ? `a ${typeof next}` : describeValue(next)}, not a map or a list`,
      );
    container = next;
  }
  return path;
}

/** An element of a list by index, or the one whose `name` is `segment` (pools, hosts written as maps). */
function selectElement(list: unknown[], segment: string, path: readonly PropertyKey[]): number {
  const where = formatPath(path);
  if (/^\d+$/.test(segment)) {
    const index = Number(segment);
    if (index >= list.length)
      throw new OverrideProblem(`no ${where}[${index}] (${where} has ${list.length} entries)`);
    return index;
  }
  const index = list.findIndex((entry) => isRecord(entry) && entry.name === segment);
  if (index < 0) {
    const names = list.flatMap((entry) =>
      isRecord(entry) && typeof entry.name === 'string' ? [entry.name] : [],
    );
    const what = where === 'pools' ? 'pool' : `entry of ${where}`;
    throw new OverrideProblem(
      `no ${what} named "${segment}" (${names.length ? `names: ${names.join(', ')}` : 'none has a name'})`,
    );
  }
  return index;
}

function isPrefix(prefix: readonly PropertyKey[], path: readonly PropertyKey[]): boolean {
  return prefix.length <= path.length && prefix.every((segment, i) => segment === path[i]);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// ---------------------------------------------------------------------------------------------------------
// issues → one plain-English line each

/** Values under these keys may be credentials (a Redis URL with a password): never echoed. */
const SENSITIVE_KEY = /(url|password|secret|token|credentials?|key)$/i;

function isSensitive(path: readonly PropertyKey[]): boolean {
  return path.some((key) => SENSITIVE_KEY.test(String(key)));
}

// ---------------------------------------------------------------------------------------------------------
// unknown keys: say which were meant

/** Where each secret the config may not hold comes from instead. */
const SECRET_FROM_ENV: Readonly<Record<string, string>> = { 'kafka.sasl.password': 'KAFKA_SASL_PASSWORD' };

function unknownKey(key: string, objectPath: readonly PropertyKey[], root: unknown): string {
  const env = SECRET_FROM_ENV[[...objectPath, key].join('.')];
  if (env) return `not read from the file: secrets come from the environment (${env})`;
  const known = keysAt(ConfigSchema, objectPath, root);
  if (known.length === 0) return 'unknown key';
  const near = closest(key, known);
  return near ? `unknown key (did you mean ${near}?)` : `unknown key (known keys: ${known.join(', ')})`;
}

/** The keys the schema allows at `path`, following the document where a union must pick a member. */
function keysAt(schema: z.core.$ZodType, path: readonly PropertyKey[], value: unknown): string[] {
  const def = schema._zod.def;
  if (def.type === 'default' || def.type === 'prefault' || def.type === 'optional')
    return keysAt((def as z.core.$ZodDefaultDef).innerType, path, value);
  if (def.type === 'union') {
    const members = (def as z.core.$ZodUnionDef).options.filter((member) => matchesKind(member, value));
    return [...new Set(members.flatMap((member) => keysAt(member, path, value)))];
  }
  const [head, ...rest] = path;
  const child =
    head === undefined
      ? undefined
      : isRecord(value) || Array.isArray(value)
        ? (value as Record<PropertyKey, unknown>)[head]
        : undefined;
  if (def.type === 'object') {
    const shape = (def as z.core.$ZodObjectDef).shape;
    if (head === undefined) return Object.keys(shape);
    const field = shape[String(head)];
    return field ? keysAt(field, rest, child) : [];
  }
  if (head === undefined) return [];
  if (def.type === 'array') return keysAt((def as z.core.$ZodArrayDef).element, rest, child);
  if (def.type === 'record') return keysAt((def as z.core.$ZodRecordDef).valueType, rest, child);
  return [];
}

/** A union member that fixes `kind` applies only to a document with that kind. */
function matchesKind(member: z.core.$ZodType, value: unknown): boolean {
  const def = member._zod.def;
  if (def.type !== 'object' || !isRecord(value) || value.kind === undefined) return true;
  const kind = (def as z.core.$ZodObjectDef).shape.kind?._zod.def;
  if (kind?.type !== 'literal') return true;
  return (kind as z.core.$ZodLiteralDef<z.core.util.Literal>).values.includes(
    value.kind as z.core.util.Literal,
  );
}

function closest(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of known) {
    const distance =
      candidate.toLowerCase() === key.toLowerCase()
        ? 0
        : editDistance(key.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  // Two edits catch the usual slips (a missing letter, a swap) without suggesting unrelated keys.
  return bestDistance <= Math.max(1, Math.min(2, Math.floor(key.length / 3))) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}
