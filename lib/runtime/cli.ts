/**
 * The `warmpool` command.
 *   warmpool run [--config F] [--port N] [--host H] [--no-synthetic] [--log-level L]
 *   warmpool validate <config>
 *   warmpool simulate --trace T.csv …   (the what-if simulator: lib/runtime/simulate-cli.ts)
 *   warmpool pools | pool set|clear | promote   (the admin API: lib/runtime/admin-client.ts)
 */
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { ConfigError, EMBEDDED_SOURCE, loadConfig } from '../config/index.js';
import { createLogger } from '../log/index.js';
import { adminCommand } from './admin-client.js';
import { describeSetup, startRuntime } from './app.js';
import { kafkaSettings } from './kafka.js';
import { clockFor } from './providers.js';
import { SIMULATE_USAGE, simulateCommand } from './simulate-cli.js';
import { buildStore } from './store.js';

const USAGE = `usage: warmpool <command> [options]

commands:
  run [--config FILE] [--port N] [--host ADDR] [--no-synthetic] [--log-level LEVEL]
      start the controller. With no --config (and no WARMPOOL_CONFIG) it runs on the embedded
      default: a simulated cloud, an in-memory store and a synthetic metric stream.
      GET /status on http://127.0.0.1:8080 shows the pools. With --config FILE, valid edits of its
      pools apply while it runs. The admin API (below) is on when WARMPOOL_ADMIN_TOKEN is set.
  validate FILE
      check a config file; prints one line per problem and exits 1 if any.
${SIMULATE_USAGE}  pools [--json]
      every pool of a running controller: counts, override, and one row per host.
  pool set NAME [--warm-per-host N] [--min N] [--max N]
      override the pool by hand: N warm instances on every host, at least / at most N in service.
      Wins over the config and the forecast until cleared.
  pool clear NAME
      drop the pool's override and manual promotions: the config and the forecast rule again.
  promote NAME COUNT
      scale out by hand: COUNT more instances in service, from the warm pool first.
  The admin commands take --url URL (default $WARMPOOL_URL, else http://127.0.0.1:8080) and
  --token TOKEN (default $WARMPOOL_ADMIN_TOKEN); they exit 1 when the controller refuses or is not there.
  help
      this text.
`;

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'run':
      return run(rest);
    case 'validate':
      return validate(rest);
    case 'simulate':
      return simulateCommand(rest, {
        stdout: (text) => process.stdout.write(text),
        stderr: (text) => process.stderr.write(text),
        progress: process.stderr.isTTY === true,
      });
    case 'pools':
    case 'pool':
    case 'promote':
      return adminCommand(command, rest, {
        env: process.env,
        stdout: (text) => process.stdout.write(text),
        stderr: (text) => process.stderr.write(text),
        usage: USAGE,
      });
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return command === undefined ? 1 : 0;
    default:
      process.stderr.write(`warmpool: unknown command "${command}"\n\n${USAGE}`);
      return 2;
  }
}

function parse(args: string[], options: ParseArgsConfig['options']) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (err) {
    process.stderr.write(`warmpool: ${(err as Error).message}\n\n${USAGE}`);
    return undefined;
  }
}

async function validate(args: string[]): Promise<number> {
  const parsed = parse(args, {});
  if (!parsed) return 2;
  const [file] = parsed.positionals;
  if (!file) {
    process.stderr.write(`warmpool validate: name a config file\n\n${USAGE}`);
    return 2;
  }
  try {
    const loaded = await loadConfig({ path: file, env: process.env });
    process.stdout.write(
      `${file}: ok (${loaded.pools.length} pool${loaded.pools.length === 1 ? '' : 's'}: ${loaded.pools.map((p) => p.name).join(', ')})\n`,
    );
    return 0;
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      return 1;
    }
    throw err;
  }
}

async function run(args: string[]): Promise<number> {
  const parsed = parse(args, {
    config: { type: 'string', short: 'c' },
    port: { type: 'string', short: 'p' },
    host: { type: 'string' },
    'no-synthetic': { type: 'boolean' },
    'log-level': { type: 'string' },
  });
  if (!parsed) return 2;
  const v = parsed.values as {
    config?: string;
    port?: string;
    host?: string;
    'no-synthetic'?: boolean;
    'log-level'?: string;
  };
  let port: number | undefined;
  if (v.port !== undefined) {
    port = Number(v.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      process.stderr.write(`warmpool run: --port must be an integer from 0 to 65535 (got "${v.port}")\n`);
      return 2;
    }
  }
  let loaded: Awaited<ReturnType<typeof loadConfig>>;
  const configPath = v.config ?? process.env.WARMPOOL_CONFIG;
  try {
    loaded = await loadConfig({ path: configPath, env: process.env });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      return 1;
    }
    throw err;
  }
  const log = createLogger({ level: v['log-level'] ?? loaded.config.controller.logLevel });
  const kafka = kafkaSettings(loaded.config.kafka, process.env);
  const synthetic = v['no-synthetic'] ? false : loaded.config.synthetic.enabled && !kafka;
  const clock = clockFor(loaded.config);
  const chosen = buildStore(loaded.config, clock, process.env, (err) =>
    log.warn({ err: err.message }, 'redis connection error; retrying'),
  );
  log.info(
    { source: loaded.source, pools: loaded.pools.map((p) => p.name) },
    `warmpool starting: ${describeSetup(loaded, synthetic, chosen.describe, kafka)}`,
  );
  const runtime = await startRuntime({
    loaded,
    log,
    synthetic,
    clock,
    store: chosen.store,
    env: process.env,
    ...(configPath === undefined || loaded.source === EMBEDDED_SOURCE ? {} : { configPath }),
    ...(port === undefined ? {} : { port }),
    ...(v.host ? { host: v.host } : {}),
  });
  log.info({ url: runtime.url }, `serving GET ${runtime.url}/status`);
  log.info(
    process.env.WARMPOOL_ADMIN_TOKEN
      ? `admin API on ${runtime.url}/admin/ (bearer token from WARMPOOL_ADMIN_TOKEN)`
      : 'admin API off (set WARMPOOL_ADMIN_TOKEN to turn it on)',
  );

  return new Promise<number>((resolve) => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (stopping) return;
      stopping = true;
      log.info({ signal }, 'stopping');
      runtime
        .stop()
        .then(() => {
          log.info('stopped');
          resolve(0);
        })
        .catch((err: unknown) => {
          log.error({ err: String(err) }, 'unclean stop');
          resolve(1);
        });
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  });
}
