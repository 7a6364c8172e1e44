import { WarmpoolError } from '../domain/index.js';
import { formatPath as formatPathIn } from '../util/index.js';

/**
 * A config that cannot be used: unreadable, not YAML/JSON, or invalid. `problems` holds one line per problem,
 * each naming the field's path (`pools[0].warm.hosts[2].max: must be >= min (got 1 < 3)`), so an operator
 * fixes every problem in one go instead of one per restart.
 */
export class ConfigError extends WarmpoolError {
  readonly problems: string[];

  /**
   * @param source where the config came from: a file path, `embedded default` or `env WARMPOOL__…`.
   * @example throw new ConfigError('warmpool.yaml', ['pools[0].name: required']);
   */
  constructor(
    readonly source: string,
    problems: readonly string[],
    options?: { cause?: unknown },
  ) {
    super('invalid_config', `invalid config (${source}):\n  ${problems.join('\n  ')}`, options);
    this.problems = [...problems];
  }
}

/**
 * True when `err` is a ConfigError.
 * @example if (isConfigError(err)) log.error(err.message);
 */
export function isConfigError(err: unknown): err is ConfigError {
  return err instanceof ConfigError;
}

/**
 * Writes a path the way the config reads: arrays as `[i]`, keys as `.key`, odd keys quoted.
 * @example formatPath(['pools', 0, 'warm', 'hosts', 2, 'max']) // 'pools[0].warm.hosts[2].max'
 */
export function formatPath(path: readonly PropertyKey[]): string {
  return formatPathIn(path, 'config');
}
