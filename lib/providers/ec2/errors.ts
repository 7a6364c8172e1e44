/**
 * EC2's failures as the port's typed errors. The SDK raises a ServiceException whose `name` is EC2's error
 * code (`InsufficientInstanceCapacity`, `IncorrectInstanceState` …), with `$fault`, `$metadata` and, for
 * throttling, `$retryable`; network failures arrive as plain errors with a Node `code`. An error that maps to
 * nothing the controller acts on (e.g. `InvalidParameterValue`, an operator's mistake) is returned unchanged.
 */
import {
  ConflictError,
  InsufficientCapacityError,
  NotFoundError,
  PermissionError,
  RateLimitedError,
  TransientError,
  UnsupportedError,
} from '../errors.js';

/** Retry-after when the SDK gives no hint: its own adaptive retries have already waited this long or less. */
export const DEFAULT_RETRY_AFTER_MS = 2_000;
/** The longest retry-after we pass on, whatever the SDK's retries added up to. */
const MAX_RETRY_AFTER_MS = 60_000;

const CAPACITY = new Set([
  'InsufficientInstanceCapacity',
  'InsufficientHostCapacity',
  'InsufficientCapacityOnOutpost',
  // Account quotas: no room either, until an operator raises them.
  'InstanceLimitExceeded',
  'VcpuLimitExceeded',
]);

/** EC2's own throttling code and the names the SDK's retry strategy treats as throttling. */
const THROTTLING = new Set([
  'RequestLimitExceeded',
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'RequestThrottled',
  'RequestThrottledException',
  'TooManyRequestsException',
  'EC2ThrottledException',
  'ProvisionedThroughputExceededException',
  'BandwidthLimitExceeded',
  'PriorRequestNotComplete',
  'LimitExceededException',
  'SlowDown',
  'TransactionInProgressException',
]);

const CONFLICT = new Set(['IncorrectInstanceState', 'IncorrectState', 'IdempotentParameterMismatch']);
const NOT_FOUND = new Set(['InvalidInstanceID.NotFound', 'InvalidInstanceID.Malformed', 'InvalidInstanceID']);
const PERMISSION = new Set([
  'UnauthorizedOperation',
  'AuthFailure',
  'OptInRequired',
  'Blocked',
  'AccessDenied',
  'AccessDeniedException',
]);
const UNSUPPORTED = new Set(['UnsupportedOperation', 'UnsupportedHibernationConfiguration', 'Unsupported']);
const TRANSIENT = new Set([
  'InternalError',
  'InternalFailure',
  'ServiceUnavailable',
  'Unavailable',
  'RequestTimeout',
  'RequestTimeoutException',
  'TimeoutError',
]);
const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

/** The fields of an SDK ServiceException (or a Node network error) that the mapping reads. */
interface AwsErrorFields {
  name?: string;
  message?: string;
  code?: unknown;
  $fault?: unknown;
  $retryable?: { throttling?: boolean };
  $metadata?: { httpStatusCode?: number; totalRetryDelay?: number };
}

/** EC2's error code of `err` (the ServiceException's name), when it is an error at all. */
export function ec2ErrorName(err: unknown): string | undefined {
  return err instanceof Error ? err.name : undefined;
}

/** What the error was about, for messages: `ec2 StopInstances i-0abc`. */
export interface Ec2CallContext {
  op: string;
  id?: string;
  host?: string;
}

function retryAfterOf(fields: AwsErrorFields): number {
  const spent = fields.$metadata?.totalRetryDelay;
  // The SDK's adaptive retries already backed off this long before giving up: wait at least as long again.
  if (typeof spent === 'number' && spent > 0) return Math.min(MAX_RETRY_AFTER_MS, Math.max(1_000, spent));
  return DEFAULT_RETRY_AFTER_MS;
}

/**
 * The port's typed error for an EC2 failure, or `err` itself when the controller has nothing to act on.
 * @example throw toProviderError(err, { op: 'StartInstances', id }); // NotFoundError for InvalidInstanceID.NotFound
 */
export function toProviderError(err: unknown, call: Ec2CallContext): unknown {
  if (!(err instanceof Error)) return err;
  const fields: AwsErrorFields = err;
  const name = err.name;
  const what = `ec2 ${call.op}${call.id ? ` ${call.id}` : ''}: ${name}: ${err.message}`;
  const options = { cause: err };
  const status = fields.$metadata?.httpStatusCode;

  if (CAPACITY.has(name)) return new InsufficientCapacityError(what, call.host, options);
  if (THROTTLING.has(name) || fields.$retryable?.throttling === true || status === 429)
    return new RateLimitedError(what, retryAfterOf(fields), options);
  if (CONFLICT.has(name)) return new ConflictError(what, options);
  if (NOT_FOUND.has(name)) return new NotFoundError(what, options);
  if (PERMISSION.has(name)) return new PermissionError(what, options);
  if (UNSUPPORTED.has(name)) return new UnsupportedError(what, options);
  if (
    TRANSIENT.has(name) ||
    fields.$fault === 'server' ||
    (typeof status === 'number' && status >= 500) ||
    (typeof fields.code === 'string' && NETWORK_CODES.has(fields.code))
  )
    return new TransientError(what, options);
  return err;
}
