/**
 * The `warmpool` command end to end, out of process: `node bin/warmpool.js …` as an operator runs it, with
 * its exit codes, its output and, for `run`, its HTTP server and its shutdown on SIGTERM. A secret sits in
 * the environment of every run and must never reach the output.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = join(ROOT, 'bin', 'warmpool.js');
const SECRET = 'supersecret-abc';

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

interface Proc {
  args: string[];
  child: ChildProcess;
  stdout: string;
  stderr: string;
  exited: Promise<Exit>;
  exit?: Exit;
}

const procs: Proc[] = [];

/** The parent's environment without any WARMPOOL setting, plus the secret and what the test adds. */
function environment(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  // Neither WARMPOOL settings nor a Redis of the test run: each child starts from the embedded default.
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('WARMPOOL') && !k.startsWith('REDIS_') && !k.startsWith('KAFKA_')) env[k] = v;
  }
  return { ...env, WARMPOOL_WEBHOOK_TOKEN: SECRET, ...extra };
}

function start(args: string[], extraEnv: Record<string, string> = {}): Proc {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: ROOT,
    env: environment(extraEnv),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const proc: Proc = {
    args,
    child,
    stdout: '',
    stderr: '',
    exited: new Promise<Exit>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (code, signal) => {
        proc.exit = { code, signal };
        resolve(proc.exit);
      });
    }),
  };
  child.stdout?.setEncoding('utf8').on('data', (s: string) => {
    proc.stdout += s;
  });
  child.stderr?.setEncoding('utf8').on('data', (s: string) => {
    proc.stderr += s;
  });
  procs.push(proc);
  return proc;
}

async function within<T>(ms: number, what: string, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Runs the command to its end (bounded). */
async function run(args: string[], extraEnv: Record<string, string> = {}, ms = 15_000) {
  const proc = start(args, extraEnv);
  const exit = await within(ms, `warmpool ${args.join(' ')}`, proc.exited);
  return { ...exit, stdout: proc.stdout, stderr: proc.stderr };
}

const LogLine = z.looseObject({ level: z.number(), time: z.number(), msg: z.string() });
type LogLine = z.infer<typeof LogLine>;

/** stdout as pino JSON lines: every line must be one. */
function logLines(proc: Proc): LogLine[] {
  return proc.stdout
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => LogLine.parse(JSON.parse(line)));
}

/** Polls `check` until it returns a value, the process exits, or `ms` pass. */
async function until<T>(
  proc: Proc,
  ms: number,
  what: string,
  check: () => Promise<T | undefined>,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (proc.exit) {
      throw new Error(`${what}: the process exited first (${JSON.stringify(proc.exit)})\n${proc.stderr}`);
    }
    const found = await check();
    if (found !== undefined) return found;
    if (Date.now() > deadline)
      throw new Error(`${what}: not within ${ms} ms\nstdout:\n${proc.stdout.slice(-2000)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function served(proc: Proc): Promise<string> {
  return until(proc, 15_000, 'the serving log line', async () => {
    const line = logLines(proc).find((l) => l.msg.startsWith('serving GET '));
    return line?.msg.match(/^serving GET (http:\/\/\S+):\d+\/status$/) ? line.msg.slice(12, -7) : undefined;
  });
}

const StatusSchema = z.looseObject({
  pools: z.array(
    z.looseObject({
      name: z.string(),
      desired: z.int(),
      active: z.int(),
      warm: z.int(),
      booting: z.int(),
      hosts: z.array(z.looseObject({ name: z.string(), warm: z.int(), active: z.int(), booting: z.int() })),
    }),
  ),
});
type Status = z.infer<typeof StatusSchema>;

async function status(url: string): Promise<Status> {
  const res = await fetch(`${url}/status`);
  expect(res.status).toBe(200);
  return StatusSchema.parse(await res.json());
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

async function terminate(proc: Proc): Promise<Exit> {
  proc.child.kill('SIGTERM');
  return within(5_000, 'exit after SIGTERM', proc.exited);
}

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'warmpool-cli-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

afterEach(async () => {
  const left = procs.splice(0);
  for (const proc of left) {
    if (!proc.exit) {
      proc.child.kill('SIGKILL');
      await within(5_000, 'exit after SIGKILL', proc.exited);
    }
  }
  for (const proc of left) {
    expect(proc.stdout, `stdout of warmpool ${proc.args.join(' ')}`).not.toContain(SECRET);
    expect(proc.stderr, `stderr of warmpool ${proc.args.join(' ')}`).not.toContain(SECRET);
  }
});

describe('warmpool validate', () => {
  it('accepts the example config: exit 0 and "ok"', async () => {
    const r = await run(['validate', 'config/warmpool.example.yaml']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('config/warmpool.example.yaml: ok (2 pools: web, batch)\n');
    expect(r.code).toBe(0);
  });

  it('refuses a bad config: exit 1 and one line per problem, each naming the field', async () => {
    const file = join(dir, 'bad.yaml');
    await writeFile(
      file,
      [
        'store:',
        // A credential in a bad value: named by its field, never echoed.
        `  { kind: redis, url: "http://admin:${SECRET}@redis.internal:6379" }`,
        'providers:',
        '  sim: { kind: sim, hosts: 3 }',
        'pools:',
        '  - name: web',
        '    provider: nosuch',
        '    template: { params: { image: ubuntu-22.04 } }',
        '    warm:',
        '      hosts:',
        '        - { name: sim-host-01, min: 3, max: 1 }',
        '        - sim-host-02',
        '    capacity: { metric: requests_per_s, perInstance: 100 }',
        '',
      ].join('\n'),
    );
    const r = await run(['validate', file]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines[0]).toBe(`invalid config (${file}):`);
    const problems = lines.slice(1).map((l) => l.trim());
    expect(problems).toHaveLength(3);
    expect(problems).toContainEqual(
      expect.stringMatching(/^pools\[0\]\.warm\.hosts\[0\]\.max: must be >= min/),
    );
    expect(problems).toContainEqual(
      expect.stringMatching(/^pools\[0\]\.provider: unknown provider "nosuch"/),
    );
    expect(problems).toContainEqual(expect.stringMatching(/^store\.url: /));
  });

  it('says clearly when the file is missing: exit 1', async () => {
    const file = join(dir, 'does-not-exist.yaml');
    const r = await run(['validate', file]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(file);
    expect(r.stderr).toMatch(/cannot read the file \(ENOENT\)/);
  });
});

describe('warmpool usage errors', () => {
  it('answers an unknown command with exit 2 and the usage', async () => {
    const r = await run(['frobnicate']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('unknown command "frobnicate"');
    expect(r.stderr).toContain('usage: warmpool <command>');
  });

  it('answers run --port abc with exit 2, before listening', async () => {
    const r = await run(['run', '--port', 'abc']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/--port must be an integer from 0 to 65535 \(got "abc"\)/);
  });

  it('answers run --config <bad file> with exit 1, before listening', async () => {
    const file = join(dir, 'bad-run.yaml');
    await writeFile(file, 'pools:\n  - name: Web!\n    provider: sim\n');
    const port = await freePort();
    const r = await run(['run', '--config', file, '--port', String(port)]);
    expect(r.code).toBe(1);
    // The logger starts only with a valid config: nothing was served, nothing logged.
    expect(r.stdout).toBe('');
    expect(r.stderr.split('\n')[0]).toBe(`invalid config (${file}):`);
    expect(r.stderr).toMatch(/^ {2}pools\[0\]\.name: /m);
  });
});

describe('warmpool run', () => {
  it('runs the embedded default: serves /status, fills the warm pool, stops cleanly on SIGTERM', async () => {
    const port = await freePort();
    const proc = start(['run', '--port', String(port)], { WARMPOOL__providers__sim__speed: '50' });
    const url = await served(proc);
    expect(url).toBe(`http://127.0.0.1:${port}`);

    const [first] = logLines(proc);
    expect(first?.msg).toMatch(/^warmpool starting: /);
    expect(first?.msg).toContain('embedded default');
    expect(first?.msg).toContain('simulated cloud at 50x real time');
    expect(first?.msg).toContain('synthetic metric stream');

    const initial = await status(url);
    expect(initial.pools.map((p) => p.name)).toEqual(['web', 'batch']);
    const warm = await until(proc, 20_000, 'a host holding a warm instance', async () => {
      const s = await status(url);
      return s.pools.some((p) => p.hosts.some((h) => h.warm > 0)) ? s : undefined;
    });
    for (const p of warm.pools) expect(p.warm).toBe(p.hosts.reduce((n, h) => n + h.warm, 0));

    const exit = await terminate(proc);
    expect(exit).toEqual({ code: 0, signal: null });
    const lines = logLines(proc);
    expect(lines.find((l) => l.msg === 'stopping')).toMatchObject({ signal: 'SIGTERM' });
    expect(lines.at(-1)?.msg).toBe('stopped');
    expect(proc.stderr).toBe('');
    // The server is gone with the process.
    await expect(fetch(`${url}/status`)).rejects.toThrow();
  }, 30_000);

  it('keeps its state in Redis when the config names one, and never prints the URL', async () => {
    const redisUrl = process.env.REDIS_URL;
    if (!redisUrl)
      throw new Error('REDIS_URL is not set: run the suite through `npm test` (it starts Redis)');
    const prefix = `cli-test-${process.pid}-${Date.now()}:`;
    const port = await freePort();
    const proc = start(['run', '--port', String(port)], {
      WARMPOOL__providers__sim__speed: '50',
      WARMPOOL__store__kind: 'redis',
      WARMPOOL__store__url: redisUrl,
      WARMPOOL__store__prefix: prefix,
    });
    const url = await served(proc);
    expect(logLines(proc)[0]?.msg).toContain('; redis store;');
    await until(proc, 20_000, 'a warm instance recorded in Redis', async () => {
      const s = await status(url);
      return s.pools.some((p) => p.warm > 0) ? s : undefined;
    });
    // The records are in Redis under the prefix, in the pool's hash-tagged keys.
    const { Redis } = await import('ioredis');
    const redis = new Redis(redisUrl);
    try {
      expect(await redis.hlen(`${prefix}{web}:inst`)).toBeGreaterThan(0);
    } finally {
      redis.disconnect();
    }
    expect(await terminate(proc)).toEqual({ code: 0, signal: null });
    expect(proc.stdout + proc.stderr).not.toContain(redisUrl);
  }, 30_000);

  it("run --no-synthetic keeps desired at each pool's active minimum", async () => {
    const port = await freePort();
    const proc = start(['run', '--no-synthetic', '--port', String(port)], {
      WARMPOOL__providers__sim__speed: '50',
    });
    const url = await served(proc);
    expect(logLines(proc)[0]?.msg).toContain('metrics from POST /metrics');
    expect(logLines(proc)[0]?.msg).not.toContain('synthetic');

    // Let virtual minutes pass (the warm pool fills meanwhile), checking desired all along.
    const minimum: Record<string, number> = { web: 2, batch: 1 };
    let snapshots = 0;
    await until(proc, 20_000, 'the warm pool filling with no metrics', async () => {
      const s = await status(url);
      snapshots++;
      for (const p of s.pools) expect(p.desired, p.name).toBe(minimum[p.name]);
      return s.pools.every((p) => p.warm > 0) ? s : undefined;
    });
    expect(snapshots).toBeGreaterThan(1);

    expect(await terminate(proc)).toEqual({ code: 0, signal: null });
  }, 30_000);
});
