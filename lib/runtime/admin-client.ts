/**
 * The client side of the admin API (lib/runtime/admin.ts), and the commands built on it:
 *   warmpool pools [--json]
 *   warmpool pool set <name> [--warm-per-host N] [--min N] [--max N]
 *   warmpool pool clear <name>
 *   warmpool promote <name> <count>
 * each with [--url U] [--token T], by default from WARMPOOL_URL (http://127.0.0.1:8080) and
 * WARMPOOL_ADMIN_TOKEN. Exit codes: 0 done, 1 refused or unreachable (the server's message and problems on
 * stderr), 2 a usage error. The token is sent, never printed.
 */
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { z } from 'zod';
import { alignColumns } from '../util/index.js';

export const DEFAULT_URL = 'http://127.0.0.1:8080';

const count = z.int().nonnegative();
const HostView = z.looseObject({ name: z.string(), warm: count, active: count, booting: count });
const OverrideView = z.looseObject({
  warmPerHost: count.optional(),
  min: count.optional(),
  max: count.optional(),
});
const PoolView = z.looseObject({
  name: z.string(),
  desired: count,
  active: count,
  warm: count,
  booting: count,
  warmTarget: count.optional(),
  hosts: z.array(HostView),
  override: OverrideView,
  holds: z.record(z.string(), z.number()),
});
const PoolsResponse = z.looseObject({ pools: z.array(PoolView) });
const OverrideResponse = z.looseObject({ override: OverrideView });
const PromoteResponse = z.looseObject({ desired: count, hold: count.optional() });
const ErrorResponse = z.looseObject({ error: z.string(), problems: z.array(z.string()).optional() });

export type AdminPool = z.infer<typeof PoolView>;
export type AdminOverride = z.infer<typeof OverrideView>;

/** A request the controller refused, or could not be sent; `message` and `problems` are for the operator. */
export class AdminError extends Error {
  constructor(
    message: string,
    readonly problems: string[] = [],
    /** The HTTP status, when the controller answered. */
    readonly status?: number,
  ) {
    super(message);
  }
}

export interface AdminClientOptions {
  /** The runtime's base URL, e.g. http://127.0.0.1:8080. */
  url: string;
  token?: string | undefined;
}

/**
 * The admin API over HTTP.
 * @example
 * const client = new AdminClient({ url: 'http://127.0.0.1:8080', token: process.env.WARMPOOL_ADMIN_TOKEN });
 * await client.setOverride('web', { warmPerHost: 3 });
 */
export class AdminClient {
  private readonly base: string;

  constructor(private readonly options: AdminClientOptions) {
    this.base = options.url.replace(/\/+$/, '');
  }

  async pools(): Promise<{ raw: unknown; pools: AdminPool[] }> {
    const raw = await this.request('GET', '/admin/pools');
    return { raw, pools: parse(PoolsResponse, raw).pools };
  }

  async setOverride(pool: string, override: AdminOverride): Promise<AdminOverride> {
    return parse(OverrideResponse, await this.request('PUT', `${poolPath(pool)}/override`, override))
      .override;
  }

  async clearOverride(pool: string): Promise<void> {
    await this.request('DELETE', `${poolPath(pool)}/override`);
  }

  async promote(pool: string, n: number): Promise<{ desired: number; hold?: number | undefined }> {
    return parse(PromoteResponse, await this.request('POST', `${poolPath(pool)}/promote`, { count: n }));
  }

  private async request(method: string, path: string, body?: unknown): Promise<unknown> {
    const headers: Record<string, string> = {};
    if (this.options.token) headers.authorization = `Bearer ${this.options.token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await fetch(`${this.base}${path}`, {
        method,
        headers,
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch (err) {
      throw unreachable(this.base, err);
    }
    const text = await res.text();
    let json: unknown;
    try {
      json = text === '' ? undefined : JSON.parse(text);
    } catch {
      json = undefined;
    }
    if (!res.ok) {
      const e = ErrorResponse.safeParse(json);
      if (e.success) throw new AdminError(e.data.error, e.data.problems ?? [], res.status);
      throw new AdminError(`${this.base} answered ${res.status} ${res.statusText}`, [], res.status);
    }
    return json;
  }
}

function poolPath(pool: string): string {
  return `/admin/pools/${encodeURIComponent(pool)}`;
}

function parse<T>(schema: z.ZodType<T>, raw: unknown): T {
  const result = schema.safeParse(raw);
  if (!result.success) throw new AdminError('unexpected answer from the controller (is the URL a warmpool?)');
  return result.data;
}

function unreachable(url: string, err: unknown): AdminError {
  const cause = err instanceof Error ? (err.cause as NodeJS.ErrnoException | undefined) : undefined;
  const code = cause?.code ?? cause?.message ?? (err instanceof Error ? err.message : String(err));
  if (code === 'ECONNREFUSED')
    return new AdminError(`no controller at ${url} (is \`warmpool run\` running?)`);
  return new AdminError(`no controller at ${url} (${code}; is \`warmpool run\` running?)`);
}

// ---------------------------------------------------------------------------------------------------------
// output

/** An override as `warmPerHost=3 min=4`, or `none`. */
export function describeOverride(override: AdminOverride): string {
  const parts = (['warmPerHost', 'min', 'max'] as const).flatMap((k) =>
    override[k] === undefined ? [] : [`${k}=${override[k]}`],
  );
  return parts.length > 0 ? parts.join(' ') : 'none';
}

/**
 * The pools as text: per pool a line with its counts and override, then one aligned row per host.
 * @example
 * pool web: desired 2, active 2, warm 6, booting 0, override none
 *   HOST         WARM  ACTIVE  BOOTING
 *   sim-host-01     2       1        0
 */
export function formatPools(pools: readonly AdminPool[]): string {
  return pools
    .map((p) => {
      const holds = Object.entries(p.holds);
      const head =
        `pool ${p.name}: desired ${p.desired}, active ${p.active}, warm ${p.warm}, booting ${p.booting}, ` +
        `override ${describeOverride(p.override)}` +
        (holds.length > 0 ? `, holds ${holds.map(([k, v]) => `${k}=${v}`).join(' ')}` : '');
      const rows = [
        ['HOST', 'WARM', 'ACTIVE', 'BOOTING'],
        ...p.hosts.map((h) => [h.name, String(h.warm), String(h.active), String(h.booting)]),
      ];
      return [head, ...alignColumns(rows).map((line) => `  ${line}`)].join('\n');
    })
    .join('\n\n')
    .concat('\n');
}

// ---------------------------------------------------------------------------------------------------------
// commands

export interface CommandIO {
  env: NodeJS.ProcessEnv;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** The command's usage text, shown with a usage error. */
  usage: string;
}

class UsageError extends Error {}

/**
 * Runs `pools`, `pool set|clear` or `promote` with its arguments; resolves to the exit code.
 * @example process.exitCode = await adminCommand('pools', ['--json'], io);
 */
export async function adminCommand(
  command: 'pools' | 'pool' | 'promote',
  args: string[],
  io: CommandIO,
): Promise<number> {
  let work: () => Promise<void>;
  try {
    work = prepare(command, args, io);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.stderr(`warmpool ${command}: ${err.message}\n\n${io.usage}`);
    return 2;
  }
  try {
    await work();
    return 0;
  } catch (err) {
    if (!(err instanceof AdminError)) throw err;
    io.stderr(`warmpool ${command}: ${err.message}\n${err.problems.map((p) => `  ${p}\n`).join('')}`);
    return 1;
  }
}

const CONNECTION: NonNullable<ParseArgsConfig['options']> = {
  url: { type: 'string' },
  token: { type: 'string' },
};
type Values = Record<string, string | boolean | undefined>;

/** Parses the arguments (UsageError when they are wrong) into the work to do. */
function prepare(command: 'pools' | 'pool' | 'promote', args: string[], io: CommandIO): () => Promise<void> {
  const parse = (options: NonNullable<ParseArgsConfig['options']>) => {
    try {
      const parsed = parseArgs({
        args,
        options: { ...CONNECTION, ...options },
        allowPositionals: true,
        strict: true,
      });
      return { values: parsed.values as Values, positionals: parsed.positionals };
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
  };
  const clientOf = (values: Values) => {
    const url = typeof values.url === 'string' ? values.url : (io.env.WARMPOOL_URL ?? DEFAULT_URL);
    if (!URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol)) {
      throw new UsageError(`--url must be an http(s) URL (got "${url}")`);
    }
    const token = typeof values.token === 'string' ? values.token : io.env.WARMPOOL_ADMIN_TOKEN;
    return new AdminClient({ url, token });
  };

  switch (command) {
    case 'pools': {
      const { values, positionals } = parse({ json: { type: 'boolean' } });
      if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
      const client = clientOf(values);
      return async () => {
        const { raw, pools } = await client.pools();
        io.stdout(values.json ? `${JSON.stringify(raw, null, 2)}\n` : formatPools(pools));
      };
    }
    case 'pool': {
      const { values, positionals } = parse({
        'warm-per-host': { type: 'string' },
        min: { type: 'string' },
        max: { type: 'string' },
      });
      const [action, name, ...extra] = positionals;
      if (action !== 'set' && action !== 'clear') {
        throw new UsageError(
          action === undefined ? 'say set or clear' : `unknown action "${action}" (set or clear)`,
        );
      }
      if (name === undefined) throw new UsageError(`name the pool: warmpool pool ${action} <name>`);
      if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`);
      const client = clientOf(values);
      if (action === 'clear') {
        if (values['warm-per-host'] !== undefined || values.min !== undefined || values.max !== undefined) {
          throw new UsageError('pool clear takes no --warm-per-host, --min or --max');
        }
        return async () => {
          await client.clearOverride(name);
          io.stdout(`${name}: override cleared\n`);
        };
      }
      const override: AdminOverride = {};
      const fields = [
        ['warm-per-host', 'warmPerHost'],
        ['min', 'min'],
        ['max', 'max'],
      ] as const;
      for (const [flag, field] of fields) {
        const value = values[flag];
        if (typeof value === 'string') override[field] = wholeNumber(`--${flag}`, value, 0);
      }
      if (Object.keys(override).length === 0)
        throw new UsageError('give at least one of --warm-per-host, --min, --max');
      return async () => {
        const set = await client.setOverride(name, override);
        io.stdout(`${name}: override ${describeOverride(set)}\n`);
      };
    }
    case 'promote': {
      const { values, positionals } = parse({});
      const [name, n, ...extra] = positionals;
      if (name === undefined || n === undefined)
        throw new UsageError('usage: warmpool promote <name> <count>');
      if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`);
      const by = wholeNumber('<count>', n, 1);
      const client = clientOf(values);
      return async () => {
        const { desired } = await client.promote(name, by);
        io.stdout(`${name}: promoting ${by}, desired ${desired}\n`);
      };
    }
  }
}

function wholeNumber(what: string, text: string, min: number): number {
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(n) || n < min) {
    throw new UsageError(`${what} must be a whole number >= ${min} (got "${text}")`);
  }
  return n;
}
