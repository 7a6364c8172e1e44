/**
 * The admin API under /admin/, for sizing pools by hand (the `warmpool pools | pool | promote` commands):
 *   GET    /admin/pools                     every pool's status with its override and demand holds
 *   PUT    /admin/pools/:name/override      { warmPerHost?, min?, max? } → 200 { override }
 *   DELETE /admin/pools/:name/override      → 204, the config and the forecast rule again
 *   POST   /admin/pools/:name/promote       { count } → 202 { desired, hold }: scale out by hand
 * Every route needs `Authorization: Bearer <WARMPOOL_ADMIN_TOKEN>`; with no token configured the API is off
 * (403), so a runtime started without one never accepts changes from the network. Input is validated
 * before anything changes; errors are thrown as HttpError and answered by the server's error handler.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import type { Controller, PoolOverride } from '../controller/index.js';
import type { Logger } from '../log/index.js';
import { describeIssues, formatPath } from '../util/index.js';
import { parseJson, readBody } from './body.js';
import { HttpError } from './errors.js';

export interface AdminOptions {
  /** The bearer token every admin request must carry; unset or empty turns the API off. */
  token?: string | undefined;
  /** Where admin changes are recorded (never the token). */
  log?: Logger | undefined;
}

export const ADMIN_DISABLED = 'admin API disabled: set WARMPOOL_ADMIN_TOKEN';

const count = z.int().nonnegative();

/** An override: at least one field, and min <= max when both are given. */
export const OverrideBodySchema = z
  .strictObject({ warmPerHost: count.optional(), min: count.optional(), max: count.optional() })
  .check((ctx) => {
    const { warmPerHost, min, max } = ctx.value;
    if (warmPerHost === undefined && min === undefined && max === undefined) {
      ctx.issues.push({
        code: 'custom',
        input: ctx.value,
        path: [],
        message: 'give at least one of warmPerHost, min, max',
      });
    }
    if (min !== undefined && max !== undefined && min > max) {
      ctx.issues.push({
        code: 'custom',
        input: max,
        path: ['max'],
        message: `must be >= min (got ${max} < ${min})`,
      });
    }
  });

export const PromoteBodySchema = z.strictObject({ count: z.int().positive() });

const OVERRIDE_KEYS = ['warmPerHost', 'min', 'max'];

/**
 * Answers a request under /admin/. Called by the HTTP server's router for every path starting with
 * `/admin/`; throws HttpError for the server to answer.
 *
 * @example
 * if (url.pathname.startsWith('/admin/')) return handleAdmin(controller, req, res, url, { token });
 */
export async function handleAdmin(
  controller: Controller,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  options: AdminOptions = {},
): Promise<void> {
  if (!options.token) throw new HttpError(403, ADMIN_DISABLED);
  if (!authorised(req.headers.authorization, options.token)) {
    const error = 'missing or wrong admin token (Authorization: Bearer <token>)';
    reply(res, 401, { error, problems: [] }, { 'www-authenticate': 'Bearer realm="warmpool admin"' });
    return;
  }
  const log = options.log;
  const segments = url.pathname.split('/').slice(2);
  // /admin/pools
  if (segments.length === 1 && segments[0] === 'pools') {
    allow(req, url, ['GET']);
    const pools = await Promise.all(
      (await controller.status()).map(async (status) => {
        const { override, holds } = await controller.policy(status.name);
        return { ...status, override, holds };
      }),
    );
    reply(res, 200, { pools });
    return;
  }
  // /admin/pools/:name/(override|promote)
  const [root, encoded, action] = segments;
  if (segments.length !== 3 || root !== 'pools' || encoded === undefined || encoded === '') {
    throw new HttpError(404, `no route ${url.pathname}`);
  }
  if (action === 'override') {
    allow(req, url, ['PUT', 'DELETE']);
    if (req.method === 'DELETE') {
      const pool = knownPool(controller, encoded);
      await controller.clearOverride(pool);
      log?.info({ pool }, 'admin: override cleared');
      reply(res, 204);
      return;
    }
    const body = validate(
      OverrideBodySchema,
      parseJson(await readBody(req)),
      'invalid override',
      OVERRIDE_KEYS,
    );
    const pool = knownPool(controller, encoded);
    // A field left out keeps its value in force: refuse a merge that would put min above max.
    const merged = { ...(await controller.policy(pool)).override, ...body };
    if (merged.min !== undefined && merged.max !== undefined && merged.min > merged.max) {
      const field = body.min === undefined ? 'max' : 'min';
      throw new HttpError(400, 'invalid override', [
        field === 'min'
          ? `min: must be <= max in force (got ${merged.min} > ${merged.max}); set both, or clear the override`
          : `max: must be >= min in force (got ${merged.max} < ${merged.min}); set both, or clear the override`,
      ]);
    }
    const override: PoolOverride = await controller.setOverride(pool, body);
    log?.info({ pool, override }, 'admin: override set');
    reply(res, 200, { override });
    return;
  }
  if (action === 'promote') {
    allow(req, url, ['POST']);
    const body = validate(PromoteBodySchema, parseJson(await readBody(req)), 'invalid promote', ['count']);
    const pool = knownPool(controller, encoded);
    const hold = await controller.holdDemand(pool, 'manual', { by: body.count });
    const { desired } = await controller.policy(pool);
    log?.info({ pool, count: body.count, hold, desired }, 'admin: promote');
    reply(res, 202, { desired, hold });
    return;
  }
  throw new HttpError(404, `no route ${url.pathname}`);
}

/**
 * True when the header carries the token. Both sides are hashed first, so the comparison is over buffers of
 * one length and takes the same time whatever the header holds, its length included.
 */
function authorised(header: string | undefined, token: string): boolean {
  const given = /^Bearer\s+(.*)$/i.exec(header ?? '')?.[1]?.trim() ?? '';
  const digest = (s: string) => createHash('sha256').update(s).digest();
  // `token` is never empty here, so a missing header (hashed as '') never matches.
  return timingSafeEqual(digest(given), digest(token));
}

function allow(req: IncomingMessage, url: URL, methods: readonly string[]): void {
  if (!methods.includes(req.method ?? '')) {
    throw new HttpError(
      405,
      `method ${req.method} not allowed on ${url.pathname} (allowed: ${methods.join(', ')})`,
    );
  }
}

function knownPool(controller: Controller, encoded: string): string {
  let name: string;
  try {
    name = decodeURIComponent(encoded);
  } catch {
    name = encoded;
  }
  const known = controller.pools.map((p) => p.name);
  if (!known.includes(name)) {
    throw new HttpError(404, `unknown pool "${name}"`, [`known pools: ${known.join(', ')}`]);
  }
  return name;
}

/** The body as `schema` reads it, or a 400 with one line per problem, each naming the field. */
function validate<T>(schema: z.ZodType<T>, raw: unknown, what: string, keys: readonly string[]): T {
  const result = schema.safeParse(raw, { reportInput: true });
  if (result.success) return result.data;
  const problems = describeIssues(result.error.issues, {
    unknownKey: () => `unknown key (known keys: ${keys.join(', ')})`,
  }).map((p) => `${formatPath(p.path, 'body')}: ${p.message}`);
  throw new HttpError(400, what, problems);
}

function reply(
  res: ServerResponse,
  status: number,
  body?: unknown,
  headers: Record<string, string> = {},
): void {
  if (body === undefined) {
    res.writeHead(status, headers);
    res.end();
    return;
  }
  const json = JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(json),
  });
  res.end(json);
}
