/**
 * Config hot reload, end to end: the runtime started in process from a YAML file (a copy of the example
 * config, its simulated cloud sped up, on the wall clock), the file edited under it as an operator would
 * (written in place, or written aside and renamed over it as editors do), and the effect read from GET
 * /status and the log.
 */
import { mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { loadConfig } from '../../lib/config/index.js';
import { createLogger } from '../../lib/log/index.js';
import { type Runtime, startRuntime } from '../../lib/runtime/index.js';

const EXAMPLE = fileURLToPath(new URL('../../config/warmpool.example.yaml', import.meta.url));

const LogLine = z.looseObject({ level: z.number(), msg: z.string() });
type LogLine = z.infer<typeof LogLine>;
const ERROR = 50;

const count = z.int().nonnegative();
const StatusSchema = z.looseObject({
  pools: z.array(
    z.looseObject({
      name: z.string(),
      desired: count,
      warm: count,
      booting: count,
      warmTarget: count,
      hosts: z.array(z.looseObject({ name: z.string(), warm: count, booting: count })),
    }),
  ),
});
type Status = z.infer<typeof StatusSchema>;

let dir: string;
let file: string;
let runtime: Runtime | undefined;
let lines: LogLine[];
let example: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'warmpool-reload-'));
  file = join(dir, 'warmpool.yaml');
  lines = [];
  // The example as it ships, its simulated cloud 20 times faster than real time.
  example = (await readFile(EXAMPLE, 'utf8')).replace('    speed: 1\n', '    speed: 20\n');
  expect(example).toContain('    speed: 20\n');
});

afterEach(async () => {
  await runtime?.stop();
  runtime = undefined;
  await rm(dir, { recursive: true, force: true });
});

/** Starts the runtime from `text`, written to the config file, with a logger that keeps its lines. */
async function start(text: string): Promise<Runtime> {
  await writeFile(file, text);
  const loaded = await loadConfig({ path: file, env: {} });
  const log = createLogger({
    level: 'info',
    destination: { write: (line: string) => void lines.push(LogLine.parse(JSON.parse(line))) },
  });
  runtime = await startRuntime({ loaded, log, port: 0, synthetic: false, configPath: file, env: {} });
  return runtime;
}

async function status(rt: Runtime): Promise<Status> {
  const res = await fetch(`${rt.url}/status`);
  expect(res.status).toBe(200);
  return StatusSchema.parse(await res.json());
}

function pool(s: Status, name: string) {
  const p = s.pools.find((x) => x.name === name);
  if (!p) throw new Error(`no pool ${name} in ${JSON.stringify(s.pools.map((x) => x.name))}`);
  return p;
}

/** Polls until `check` returns a value, or fails after `ms`. */
async function within<T>(ms: number, what: string, check: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const found = await check();
    if (found !== undefined) return found;
    if (Date.now() > deadline) {
      throw new Error(`${what}: not within ${ms} ms; log:\n${lines.map((l) => l.msg).join('\n')}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Replaces `from` (which must occur exactly once) in the text. */
function edit(text: string, from: string, to: string): string {
  expect(text.split(from), `"${from}" once in the config`).toHaveLength(2);
  return text.replace(from, to);
}

/** Writes the file the way editors that save atomically do: a new file renamed over the old one. */
async function replaceFile(text: string): Promise<void> {
  const aside = join(dir, '.warmpool.yaml.swp');
  await writeFile(aside, text);
  await rename(aside, file);
}

const WEB_PER_HOST = '      perHost: { min: 0, target: 2, max: 5 }\n';
const WEB_HOST_03 = '        - { name: sim-host-03, min: 1 }\n';

describe('config hot reload', () => {
  it('applies an edit of a warm target within a second, keeps running on a broken edit, applies the fix', async () => {
    const rt = await start(example);
    // web: three hosts at target 2.
    await within(1000, 'the first decision', async () =>
      pool(await status(rt), 'web').warmTarget === 6 ? true : undefined,
    );

    const raised = edit(example, WEB_PER_HOST, '      perHost: { min: 0, target: 4, max: 5 }\n');
    await writeFile(file, raised);
    await within(1000, 'warmTarget 12 after the edit', async () =>
      pool(await status(rt), 'web').warmTarget === 12 ? true : undefined,
    );
    const reloaded = lines.filter((l) => l.msg === 'config reloaded');
    expect(reloaded).toHaveLength(1);
    expect(reloaded[0]).toMatchObject({ pools: ['web', 'batch'], changed: ['web'], added: [], removed: [] });
    // The refill follows the new target: hosts launch toward 4.
    await within(1000, 'launches toward the new target', async () =>
      pool(await status(rt), 'web').hosts.every((h) => h.warm + h.booting === 4) ? true : undefined,
    );

    // A host whose max is below its min: refused, one error line naming the field, the old config runs on.
    const broken = edit(raised, WEB_HOST_03, '        - { name: sim-host-03, min: 3, max: 1 }\n');
    await writeFile(file, broken);
    const failure = await within(1000, 'the error line', async () => lines.find((l) => l.level >= ERROR));
    const problems = z.array(z.string()).min(1).parse(failure.problems);
    expect(problems).toContainEqual(
      expect.stringMatching(/^pools\[0\]\.warm\.hosts\[2\]\.max: must be >= min/),
    );
    for (const problem of problems) expect(failure.msg).toContain(problem);
    expect(failure.msg).toMatch(/^config reload failed, keeping the running config: /);
    expect(failure.msg).not.toContain('\n');
    // Still the raised config, a while later.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const kept = await status(rt);
    expect(pool(kept, 'web').warmTarget).toBe(12);
    expect(pool(kept, 'web').hosts.map((h) => h.warm + h.booting)).toEqual([4, 4, 4]);
    expect(lines.filter((l) => l.level >= ERROR)).toHaveLength(1);
    expect(lines.filter((l) => l.msg === 'config reloaded')).toHaveLength(1);

    // Fixed, and saved the way an editor replaces the file.
    const fixed = edit(
      raised,
      '      perHost: { min: 0, target: 4, max: 5 }\n',
      '      perHost: { min: 0, target: 3, max: 5 }\n',
    );
    await replaceFile(fixed);
    await within(1000, 'warmTarget 9 after the fix', async () =>
      pool(await status(rt), 'web').warmTarget === 9 ? true : undefined,
    );
    expect(lines.filter((l) => l.msg === 'config reloaded')).toHaveLength(2);
    expect(lines.filter((l) => l.level >= ERROR)).toHaveLength(1);
  });

  it('adds and removes pools (leaving a removed pool instances alone) and refuses a provider change', async () => {
    // A second provider from the start, the same cloud under another name.
    const withSpare = edit(
      example,
      'providers:\n',
      'providers:\n  spare: { kind: sim, hosts: 10, speed: 20 }\n',
    );
    const rt = await start(withSpare);
    await within(2000, 'batch launching', async () =>
      pool(await status(rt), 'batch').booting + pool(await status(rt), 'batch').warm > 0 ? true : undefined,
    );
    const batchIds = (await rt.store.list('batch')).map((r) => r.id).sort();
    expect(batchIds.length).toBeGreaterThan(0);

    // batch out, api in.
    const second = withSpare.indexOf('  # A second pool');
    expect(second).toBeGreaterThan(0);
    const api = [
      '  - name: api',
      '    provider: sim',
      '    template: { params: { image: ubuntu-22.04, flavor: m1.small } }',
      '    warm: { perHost: { target: 1 }, hosts: [sim-host-09, sim-host-10] }',
      '    capacity: { metric: requests_per_s, perInstance: 100 }',
      '',
    ].join('\n');
    const swapped = `${withSpare.slice(0, second)}${api}`;
    await writeFile(file, swapped);
    const after = await within(1000, 'api in, batch out', async () => {
      const s = await status(rt);
      return s.pools.map((p) => p.name).join() === 'web,api' ? s : undefined;
    });
    expect(pool(after, 'api').warmTarget).toBe(2);
    expect(lines.find((l) => l.msg === 'config reloaded')).toMatchObject({
      pools: ['web', 'api'],
      added: ['api'],
      removed: ['batch'],
      changed: [],
    });
    await within(1000, 'api launching', async () =>
      pool(await status(rt), 'api').hosts.every((h) => h.booting + h.warm === 1) ? true : undefined,
    );
    // batch's instances are still there: a pool dropped from the config is no longer decided, not torn down.
    await new Promise((resolve) => setTimeout(resolve, 200));
    const left = (await rt.store.list('batch')).filter((r) => r.state !== 'deleting' && r.state !== 'failed');
    expect(left.map((r) => r.id).sort()).toEqual(batchIds);

    // Changing the providers takes a restart: refused, with the reason, and nothing changes.
    const errorsBefore = lines.filter((l) => l.level >= ERROR).length;
    await writeFile(file, edit(swapped, '  spare: { kind: sim, hosts: 10, speed: 20 }\n', ''));
    const refused = await within(
      1000,
      'the refusal',
      async () => lines.filter((l) => l.level >= ERROR)[errorsBefore],
    );
    expect(refused.msg).toMatch(/^config reload refused, keeping the running config: the providers changed/);
    // So does moving a pool to another provider.
    await writeFile(
      file,
      edit(
        swapped,
        '    name: web\n    # The provider (a key of `providers` above) that runs it. Required.\n    provider: sim\n',
        '    name: web\n    provider: spare\n',
      ),
    );
    const moved = await within(
      1000,
      'the second refusal',
      async () => lines.filter((l) => l.level >= ERROR)[errorsBefore + 1],
    );
    expect(moved.msg).toContain('pool web: provider changed from "sim" to "spare"');
    expect((await status(rt)).pools.map((p) => p.name)).toEqual(['web', 'api']);
    expect(lines.filter((l) => l.msg === 'config reloaded')).toHaveLength(1);
  });

  it('stops watching when the runtime stops', async () => {
    const rt = await start(example);
    await rt.stop();
    runtime = undefined;
    const before = lines.length;
    await writeFile(file, edit(example, WEB_PER_HOST, '      perHost: { min: 0, target: 4, max: 5 }\n'));
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(lines.slice(before).map((l) => l.msg)).toEqual([]);
  });
});
