/**
 * OpenStack's failures as the port's typed errors. Keystone and Nova answer an error with an HTTP status and
 * a JSON body naming it (`{"conflictingRequest": {"code": 409, "message": …}}` from Nova, `{"error": {…}}`
 * from Keystone); the status says what the controller must do, the message says why. Messages name the call
 * (service, operation, server id) and OpenStack's own words, never a token, a password or a request body.
 */
import { WarmpoolError } from '../../domain/errors.js';
import {
  ConflictError,
  InsufficientCapacityError,
  NotFoundError,
  PermissionError,
  RateLimitedError,
  TransientError,
  UnsupportedError,
} from '../errors.js';

/** Retry-after when a 413/429 names none. */
export const DEFAULT_RETRY_AFTER_MS = 2_000;
/** The longest retry-after passed on, whatever a proxy asks for. */
const MAX_RETRY_AFTER_MS = 10 * 60_000;

/** What an HTTP call was, for messages and for the policy hint of a 403. */
export interface OpenStackCall {
  service: 'keystone' | 'nova' | 'glance';
  /** Nova's name of the operation: `create`, `pause`, `show` … */
  op: string;
  id?: string;
  host?: string;
  /** The policy rule Nova checks for this call, named in a PermissionError. */
  policy?: string;
}

/** The answer to one HTTP call, as errors.ts needs it. */
export interface OpenStackAnswer {
  status: number;
  headers: Headers;
  /** The JSON body, or the text when it was not JSON, or undefined when empty. */
  body: unknown;
}

/**
 * An OpenStack answer the controller has nothing to act on (400 for a bad flavor or image, an answer of an
 * unexpected shape): an operator must look at it.
 */
export class OpenStackApiError extends WarmpoolError {
  constructor(
    readonly status: number,
    message: string,
    options?: { cause?: unknown },
  ) {
    super('openstack_api', message, options);
  }
}

/**
 * Credentials or a service catalog warmpool cannot use: a missing variable, an unknown cloud in clouds.yaml,
 * no compute endpoint in the region. One line per problem, naming the setting, never its value.
 */
export class OpenStackConfigError extends WarmpoolError {
  readonly problems: string[];

  constructor(
    readonly source: string,
    problems: readonly string[],
    options?: { cause?: unknown },
  ) {
    super('openstack_config', `openstack credentials (${source}):\n  ${problems.join('\n  ')}`, options);
    this.problems = [...problems];
  }
}

export function describeCall(call: OpenStackCall): string {
  return `openstack ${call.service} ${call.op}${call.id ? ` ${call.id}` : ''}`;
}

/**
 * The message of an OpenStack error body: Nova wraps it in one key named after the fault
 * (`itemNotFound`, `forbidden` …), Keystone in `error`; a proxy may answer plain text or HTML.
 */
export function apiMessage(body: unknown): string | undefined {
  if (typeof body === 'string') {
    const text = body
      .replace(/<[^>]*>/g, ' ')
      .replace(/\s+/g, ' ')
      .trim();
    return text === '' ? undefined : text.slice(0, 300);
  }
  if (typeof body !== 'object' || body === null) return undefined;
  const record = body as Record<string, unknown>;
  if (typeof record.message === 'string') return record.message;
  for (const value of Object.values(record)) {
    if (typeof value === 'object' && value !== null) {
      const message = (value as Record<string, unknown>).message;
      if (typeof message === 'string') return message;
    }
  }
  return undefined;
}

/**
 * Milliseconds to wait from a Retry-After header: delta-seconds or an HTTP date (read against the answer's
 * own Date, so a skewed local clock does not matter). `fallback` when absent or unreadable.
 * @example retryAfterMs('3', undefined) // 3000
 */
export function retryAfterMs(
  header: string | null,
  serverDate: string | null | undefined,
  fallback = DEFAULT_RETRY_AFTER_MS,
): number {
  if (header === null || header.trim() === '') return fallback;
  const value = header.trim();
  if (/^\d+(?:\.\d+)?$/.test(value)) return Math.min(MAX_RETRY_AFTER_MS, Math.round(Number(value) * 1000));
  const at = Date.parse(value);
  if (Number.isNaN(at)) return fallback;
  const now = serverDate ? Date.parse(serverDate) : Number.NaN;
  const base = Number.isNaN(now) ? Date.now() : now;
  return Math.min(MAX_RETRY_AFTER_MS, Math.max(0, at - base));
}

const QUOTA = /quota exceeded|exceeds?\b.*\bquota|over ?quota/i;
const HOST_UNKNOWN = /compute host \S+ could not be found|host '?\S+'? (?:could )?not (?:be )?found/i;

/** True when OpenStack refused because a quota is used up (Nova: 403 "Quota exceeded for instances …"). */
export function isQuotaMessage(message: string | undefined): boolean {
  return message !== undefined && QUOTA.test(message);
}

/**
 * The port's typed error for an OpenStack error answer.
 *
 * | status | error |
 * | --- | --- |
 * | 400 naming an unknown compute host | NotFoundError |
 * | 400, other 4xx | OpenStackApiError |
 * | 401 (after the one re-authentication) | PermissionError |
 * | 403 "Quota exceeded …" | InsufficientCapacityError |
 * | 403 | PermissionError, naming the policy |
 * | 404 | NotFoundError |
 * | 406 (microversion) | UnsupportedError |
 * | 409 | ConflictError |
 * | 413, 429 "Quota exceeded …" | InsufficientCapacityError |
 * | 413, 429 | RateLimitedError (Retry-After) |
 * | 501 | UnsupportedError |
 * | 503 with Retry-After | RateLimitedError |
 * | other 5xx | TransientError |
 *
 * @example throw toProviderError(answer, { service: 'nova', op: 'pause', id });
 */
export function toProviderError(answer: OpenStackAnswer, call: OpenStackCall): Error {
  const { status } = answer;
  const said = apiMessage(answer.body);
  const what = `${describeCall(call)}: ${status}${said ? ` ${said}` : ''}`;
  const retryAfter = () => retryAfterMs(answer.headers.get('retry-after'), answer.headers.get('date'));

  switch (status) {
    case 401:
      return new PermissionError(
        `${what} (the credentials were refused even after a fresh token: check them and the user's roles)`,
      );
    case 403:
      if (isQuotaMessage(said)) return new InsufficientCapacityError(what, call.host);
      return new PermissionError(
        call.policy
          ? `${what} (the credentials' roles do not satisfy Nova's policy ${call.policy})`
          : `${what} (the credentials' roles do not allow this call)`,
      );
    case 404:
      return new NotFoundError(what);
    case 406:
      return new UnsupportedError(`${what} (the microversion asked for is not supported)`);
    case 409:
      return new ConflictError(what);
    case 413:
    case 429:
      if (isQuotaMessage(said)) return new InsufficientCapacityError(what, call.host);
      return new RateLimitedError(what, retryAfter());
    case 501:
      return new UnsupportedError(what);
    default:
      break;
  }
  if (status === 400 && said !== undefined && HOST_UNKNOWN.test(said)) return new NotFoundError(what);
  if (status === 503 && answer.headers.get('retry-after') !== null)
    return new RateLimitedError(what, retryAfter());
  if (status >= 500) return new TransientError(what);
  return new OpenStackApiError(status, what);
}

/** A request that got no answer: refused, reset, timed out. Always worth another try later. */
export function transportError(call: OpenStackCall, err: unknown, timeoutMs?: number): TransientError {
  if (timeoutMs !== undefined) {
    return new TransientError(`${describeCall(call)}: no answer within ${timeoutMs} ms`, { cause: err });
  }
  const cause = err instanceof Error ? (err.cause as { code?: unknown } | undefined) : undefined;
  const code = typeof cause?.code === 'string' ? cause.code : undefined;
  const reason = err instanceof Error ? err.message : String(err);
  return new TransientError(`${describeCall(call)}: ${reason}${code ? ` (${code})` : ''}`, { cause: err });
}
