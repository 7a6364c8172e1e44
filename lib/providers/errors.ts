/**
 * Typed provider errors: what a controller must act on, whatever cloud raised it. Adapters map their API's
 * failures onto these; the controller reads `isNotFound(err)` or `isRetryable(err)` instead of messages.
 */
import { WarmpoolError } from '../domain/errors.js';

export type ProviderErrorCode =
  | 'not_found'
  | 'conflict'
  | 'insufficient_capacity'
  | 'rate_limited'
  | 'transient'
  | 'permission'
  | 'unsupported';

export class ProviderError extends WarmpoolError {
  declare readonly code: ProviderErrorCode;

  constructor(code: ProviderErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** The instance (or host) does not exist. */
export class NotFoundError extends ProviderError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('not_found', message, options);
  }
}

/** The instance is in a state that does not allow the action (e.g. unpause a running server). */
export class ConflictError extends ProviderError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('conflict', message, options);
  }
}

/** The host or region has no room for another instance. */
export class InsufficientCapacityError extends ProviderError {
  constructor(
    message: string,
    readonly host?: string,
    options?: { cause?: unknown },
  ) {
    super('insufficient_capacity', message, options);
  }
}

/** The API refused for rate or quota; retry after `retryAfterMs`. */
export class RateLimitedError extends ProviderError {
  constructor(
    message: string,
    readonly retryAfterMs: number,
    options?: { cause?: unknown },
  ) {
    super('rate_limited', message, options);
  }
}

/** A fault that may pass: 5xx, timeouts, dropped connections. */
export class TransientError extends ProviderError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('transient', message, options);
  }
}

/** The credentials do not allow the call. Not retried; the operator must act. */
export class PermissionError extends ProviderError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('permission', message, options);
  }
}

/** The cloud cannot do what was asked (e.g. pause on EC2). */
export class UnsupportedError extends ProviderError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('unsupported', message, options);
  }
}

export const isNotFound = (err: unknown): err is NotFoundError => err instanceof NotFoundError;
export const isConflict = (err: unknown): err is ConflictError => err instanceof ConflictError;
export const isInsufficientCapacity = (err: unknown): err is InsufficientCapacityError =>
  err instanceof InsufficientCapacityError;
export const isRateLimited = (err: unknown): err is RateLimitedError => err instanceof RateLimitedError;

/** Worth trying again later: rate limits and transient faults. */
export const isRetryable = (err: unknown): boolean =>
  err instanceof RateLimitedError || err instanceof TransientError;

/** Swallows NotFoundError (deleting what is already gone is success); rethrows anything else. */
export function ignoreNotFound(err: unknown): void {
  if (!isNotFound(err)) throw err;
}
