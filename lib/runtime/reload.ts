/**
 * Config hot reload for `warmpool run --config FILE`: the file's directory is watched (an editor that saves
 * by writing a new file and renaming it over the old one replaces the inode a file watch would follow), the
 * events of one save are debounced into one reload, and the file is loaded and validated in full before
 * anything changes. A valid config swaps the pools in the controller at once; an invalid one is logged, one
 * line naming every problem, and the running config stays. Providers are built at start, so a reload that
 * changes them (or a pool's provider) is refused; the other sections (store, Kafka, HTTP, ticks) take a
 * restart, which a warning says.
 */
import { type FSWatcher, watch } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { isConfigError, type LoadedConfig, loadConfig } from '../config/index.js';
import type { Controller } from '../controller/index.js';
import type { Logger } from '../log/index.js';

export interface ConfigWatchOptions {
  /** The config file the runtime was started from. */
  path: string;
  /** The config running now. */
  current: LoadedConfig;
  controller: Controller;
  log: Logger;
  /** Where `WARMPOOL__…` overrides are read from, as at start. */
  env?: NodeJS.ProcessEnv;
  /** Quiet time after the last file event before reloading (ms, wall clock). */
  debounceMs?: number;
  /** Called after every reload attempt, applied or not (tests). */
  onReload?: (outcome: ReloadOutcome) => void;
}

export type ReloadOutcome =
  | { kind: 'applied'; pools: string[]; added: string[]; removed: string[]; changed: string[] }
  | { kind: 'unchanged' }
  | { kind: 'invalid'; problems: string[] }
  | { kind: 'refused'; reason: string };

export interface ConfigWatcher {
  /** Reloads now, as a file event would (serialised with the watcher's reloads). */
  reload(): Promise<ReloadOutcome>;
  close(): void;
}

/**
 * Watches the config file and applies each valid change to the controller's pools.
 *
 * @example
 * const watcher = watchConfig({ path: 'warmpool.yaml', current: loaded, controller, log });
 * // … later
 * watcher.close();
 */
export function watchConfig(options: ConfigWatchOptions): ConfigWatcher {
  const { controller, log } = options;
  const path = resolve(options.path);
  const file = basename(path);
  const debounceMs = options.debounceMs ?? 100;
  let current = options.current;
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  // One reload at a time, in the order asked for.
  let queue: Promise<unknown> = Promise.resolve();

  const attempt = async (): Promise<ReloadOutcome> => {
    if (closed) return { kind: 'unchanged' };
    let loaded: LoadedConfig;
    try {
      loaded = await loadConfig({ path, env: options.env ?? {} });
    } catch (err) {
      if (!isConfigError(err)) throw err;
      if (err.problems.some((p) => p.startsWith('cannot read the file (ENOENT)'))) {
        // Mid-save for some editors (delete, then write): the write's own event reloads again.
        log.warn({ source: path }, 'config file missing; keeping the running config');
        return { kind: 'invalid', problems: err.problems };
      }
      log.error(
        { source: path, problems: err.problems },
        `config reload failed, keeping the running config: ${err.problems.join('; ')}`,
      );
      return { kind: 'invalid', problems: err.problems };
    }
    const next = loaded.config;
    const before = current.config;
    if (JSON.stringify(next.providers) !== JSON.stringify(before.providers)) {
      const reason = 'the providers changed; providers are built at start, restart to apply';
      log.error({ source: path }, `config reload refused, keeping the running config: ${reason}`);
      return { kind: 'refused', reason };
    }
    if (JSON.stringify(loaded.pools) === JSON.stringify(current.pools)) return { kind: 'unchanged' };
    let change: { added: string[]; removed: string[]; changed: string[] };
    try {
      change = controller.reconfigure(loaded.pools);
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      log.error({ source: path }, `config reload refused, keeping the running config: ${reason}`);
      return { kind: 'refused', reason };
    }
    // Every other section configures what is built once, at start.
    const sections = new Set([...Object.keys(next), ...Object.keys(before)]);
    const pending = [...sections].filter(
      (k) =>
        k !== 'pools' &&
        k !== 'providers' &&
        JSON.stringify((next as Record<string, unknown>)[k]) !==
          JSON.stringify((before as Record<string, unknown>)[k]),
    );
    if (pending.length > 0) {
      log.warn(
        { source: path, sections: pending },
        `config sections ${pending.join(', ')} changed; they apply at restart`,
      );
    }
    current = loaded;
    const pools = loaded.pools.map((p) => p.name);
    log.info({ source: path, pools, ...change }, 'config reloaded');
    // Decide at once on the new specs rather than at the next tick.
    await controller.tick();
    return { kind: 'applied', pools, ...change };
  };

  const reload = (): Promise<ReloadOutcome> => {
    const run = queue.then(attempt);
    queue = run.catch(() => undefined);
    return run.then((outcome) => {
      options.onReload?.(outcome);
      return outcome;
    });
  };

  const schedule = () => {
    if (closed) return;
    clearTimeout(timer);
    timer = setTimeout(() => {
      reload().catch((err: unknown) => log.error({ err: String(err) }, 'config reload failed'));
    }, debounceMs);
    timer.unref();
  };

  const watcher: FSWatcher = watch(dirname(path), { persistent: false }, (_event, name) => {
    // No name (some platforms), the file itself, or a Kubernetes ConfigMap's `..data` symlink swap.
    if (name === null || name === file || String(name).startsWith('..')) schedule();
  });
  watcher.on('error', (err) => {
    log.error({ err: String(err), source: path }, 'config watch failed; reload is off until restart');
    watcher.close();
  });

  return {
    reload,
    close() {
      closed = true;
      clearTimeout(timer);
      watcher.close();
    },
  };
}
