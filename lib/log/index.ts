/**
 * Logging: pino, with the paths where secrets could appear redacted before anything is written, so that a
 * token or password handed to a log call by mistake never reaches a log line.
 */
import { type DestinationStream, type Logger as PinoLogger, pino } from 'pino';

/** The logging surface lib/ depends on; pino satisfies it, and tests can pass a silent one. */
export type Logger = Pick<PinoLogger, 'debug' | 'info' | 'warn' | 'error' | 'child'>;

/** Keys that may carry secrets anywhere in a logged object. */
export const REDACT_PATHS = [
  'password',
  'secret',
  'token',
  'authorization',
  'apiKey',
  '*.password',
  '*.secret',
  '*.token',
  '*.authorization',
  '*.apiKey',
  'headers.authorization',
  'req.headers.authorization',
  'req.headers["x-warmpool-signature"]',
  'credentials',
  '*.credentials',
];

/**
 * @example
 * const log = createLogger({ level: 'info' });
 * log.info({ pool: 'web' }, 'promoted');
 */
export function createLogger(options: { level?: string; destination?: DestinationStream } = {}): PinoLogger {
  return pino(
    {
      name: 'warmpool',
      level: options.level ?? 'info',
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    },
    options.destination,
  );
}

/** A logger that writes nothing (tests, benchmarks). */
export function silentLogger(): PinoLogger {
  return pino({ level: 'silent' });
}
