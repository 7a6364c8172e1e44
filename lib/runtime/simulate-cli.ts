/**
 * `warmpool simulate`: the what-if simulator on the command line. A table on stdout (or JSON with --json,
 * one object on the last line), a progress bar on stderr when it is a terminal, an SVG with --plot.
 */
import { writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../config/index.js';
import {
  DEFAULT_POLICIES,
  type DemandScale,
  loadTrace,
  POLICY_NAMES,
  PolicyError,
  type PolicyReport,
  parsePolicy,
  plotSvg,
  type SimulateReport,
  simulate,
  TraceError,
} from '../sim/index.js';
import { alignColumns } from '../util/index.js';

export const SIMULATE_USAGE = `  simulate --trace FILE.csv [--config FILE] [--pool NAME] [--policy P ...] [--per-instance V |
           --peak-instances N] [--target PCT] [--warmup-hours H] [--threads N] [--by-day] [--json]
           [--plot OUT.svg]
      replay a demand trace (CSV "t,value", t in seconds, evenly spaced) on a simulated cloud through
      the real controller, under each policy: ${POLICY_NAMES.join(', ')} (default: ${DEFAULT_POLICIES.join(', ')};
      static:N fixes N warm per host, predictive:KIND picks holt, holt-winters or burst; timing:N
      holds N warm before each rise, knowing when demand rises but not by how much).
      Demand in instances is ceil(value / V), or the trace scaled so its peak needs N (default 100).
      Without --config, one pool over 10 sim hosts. Reports per policy the share of scale-out served
      at once from warm, unserved instance-seconds, p50/p99 wait, idle warm instance-hours, API calls.
      static and timing are searched for: the smallest size serving --target % (default 99.5) from warm.
      Measured after --warmup-hours (default 24, at most a quarter of the trace); policies run on
      --threads worker threads (default: one per core). --by-day adds the share served and the mean
      warm held for every day of the trace (under "byDay" in the JSON).
`;

export interface SimulateIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Draw a progress bar on stderr (a terminal). */
  progress: boolean;
}

const fail = (io: SimulateIo, message: string, code = 2) => {
  io.stderr(`warmpool simulate: ${message}\n`);
  return code;
};

function positiveNumber(flag: string, text: string | undefined): number | string | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  return Number.isFinite(n) && n > 0 ? n : `${flag} must be a number > 0 (got "${text}")`;
}

export async function simulateCommand(args: string[], io: SimulateIo): Promise<number> {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args,
      options: {
        trace: { type: 'string' },
        config: { type: 'string', short: 'c' },
        pool: { type: 'string' },
        policy: { type: 'string', multiple: true },
        'per-instance': { type: 'string' },
        'peak-instances': { type: 'string' },
        target: { type: 'string' },
        'warmup-hours': { type: 'string' },
        json: { type: 'boolean' },
        'by-day': { type: 'boolean' },
        plot: { type: 'string' },
        threads: { type: 'string' },
      },
      strict: true,
    });
  } catch (err) {
    return fail(io, `${(err as Error).message}\n\nusage:\n${SIMULATE_USAGE}`);
  }
  const v = parsed.values as Record<string, string | string[] | boolean | undefined>;
  if (typeof v.trace !== 'string')
    return fail(io, `--trace FILE.csv is required\n\nusage:\n${SIMULATE_USAGE}`);

  const numbers: Record<string, number | undefined> = {};
  for (const flag of ['per-instance', 'peak-instances', 'target', 'warmup-hours', 'threads'] as const) {
    const n = positiveNumber(`--${flag}`, v[flag] as string | undefined);
    if (typeof n === 'string') return fail(io, n);
    numbers[flag] = n;
  }
  if (numbers['per-instance'] !== undefined && numbers['peak-instances'] !== undefined) {
    return fail(io, '--per-instance and --peak-instances exclude each other');
  }
  if (numbers['peak-instances'] !== undefined && !Number.isInteger(numbers['peak-instances'])) {
    return fail(io, `--peak-instances must be a whole number (got ${numbers['peak-instances']})`);
  }
  if (numbers.threads !== undefined && !Number.isInteger(numbers.threads)) {
    return fail(io, `--threads must be a whole number (got ${numbers.threads})`);
  }
  if (numbers.target !== undefined && numbers.target > 100) {
    return fail(io, `--target is a percentage, at most 100 (got ${numbers.target})`);
  }
  let scale: DemandScale | undefined;
  if (numbers['per-instance'] !== undefined) scale = { perInstance: numbers['per-instance'] };
  if (numbers['peak-instances'] !== undefined) scale = { peakInstances: numbers['peak-instances'] };

  try {
    const policies = ((v.policy as string[] | undefined) ?? [...DEFAULT_POLICIES]).map(parsePolicy);
    const labels = policies.map((p) => p.label);
    const dup = labels.find((l, i) => labels.indexOf(l) !== i);
    if (dup) return fail(io, `--policy ${dup} is given twice`);
    const trace = await loadTrace(v.trace);
    const config = typeof v.config === 'string' ? await loadConfig({ path: v.config }) : undefined;
    const started = Date.now();
    const bar = io.progress ? progressBar(io) : undefined;
    const report = await simulate({
      trace,
      policies,
      ...(scale ? { scale } : {}),
      ...(config ? { config } : {}),
      ...(typeof v.pool === 'string' ? { pool: v.pool } : {}),
      ...(numbers.target !== undefined ? { targetPct: numbers.target } : {}),
      ...(numbers['warmup-hours'] !== undefined ? { warmupMs: numbers['warmup-hours'] * 3_600_000 } : {}),
      series: typeof v.plot === 'string',
      threads: numbers.threads ?? availableParallelism(),
      ...(bar ? { onProgress: bar } : {}),
    });
    if (bar) io.stderr('\r\x1b[2K');
    if (typeof v.plot === 'string') await writeFile(v.plot, plotSvg(report));
    const byDay = v['by-day'] === true;
    if (v.json) io.stdout(`${JSON.stringify(summary(report, { byDay }))}\n`);
    else io.stdout(formatReport(report, (Date.now() - started) / 1000, { byDay }));
    return 0;
  } catch (err) {
    if (err instanceof TraceError || err instanceof PolicyError || err instanceof ConfigError) {
      return fail(io, err.message, 1);
    }
    throw err;
  }
}

function progressBar(io: SimulateIo): (label: string, done: number) => void {
  let last = '';
  return (label, done) => {
    const width = 30;
    const filled = Math.round(done * width);
    const line = `${label.padEnd(24)} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${Math.round(done * 100)} %`;
    if (line !== last) io.stderr(`\r\x1b[2K${line}`);
    last = line;
  };
}

const r2 = (n: number) => Math.round(n * 100) / 100;

/**
 * The JSON the issue promises: per policy, the five figures (plus what explains them), and with `byDay`
 * the same day by day.
 */
export function summary(report: SimulateReport, options: { byDay?: boolean } = {}): Record<string, unknown> {
  const policies: Record<string, Record<string, unknown>> = {};
  for (const [name, p] of Object.entries(report.policies)) {
    policies[name] = {
      servedWarmPct: r2(p.servedWarmPct),
      unservedInstanceSeconds: r2(p.unservedInstanceSeconds),
      waitP50S: r2(p.waitP50S),
      waitP99S: r2(p.waitP99S),
      idleWarmInstanceHours: r2(p.idleWarmInstanceHours),
      apiCalls: p.apiCalls,
      ...(p.perHost === undefined ? {} : { perHost: p.perHost }),
      ...(p.size === undefined ? {} : { size: p.size }),
      ...(options.byDay
        ? {
            byDay: p.byDay.map((d) => ({
              day: d.day,
              servedWarmPct: r2(d.servedWarmPct),
              idleWarmInstanceHours: r2(d.idleWarmInstanceHours),
              meanWarm: r2(d.meanWarm),
              warmHits: d.warmHits,
              coldMisses: d.coldMisses,
            })),
          }
        : {}),
    };
  }
  return {
    trace: report.trace,
    rows: report.rows,
    stepS: report.stepS,
    peakInstances: report.peakInstances,
    hosts: report.hosts,
    leadTimeS: report.leadTimeS,
    warmupS: report.warmupS,
    policies,
  };
}

/** A policy's name with the size it ran with: `static (2/host)`, `timing (12 before a rise)`. */
export function policyLabel(name: string, p: PolicyReport): string {
  if (p.perHost !== undefined) return `${name} (${p.perHost}/host)`;
  if (p.size !== undefined) return `${name} (${p.size} before a rise)`;
  return name;
}

export function formatReport(
  report: SimulateReport,
  seconds: number,
  options: { byDay?: boolean } = {},
): string {
  const head = `${report.trace}: ${report.rows} rows of ${report.stepS} s (${report.days.toFixed(1)} days), peak ${report.peakInstances} instances (${r2(report.perInstance)} per instance), ${report.hosts} hosts, lead time ${report.leadTimeS} s, measured after ${r2(report.warmupS / 3600)} h`;
  const cols = [
    'policy',
    'served warm %',
    'unserved inst-s',
    'wait p50 s',
    'wait p99 s',
    'idle warm inst-h',
    'API calls',
  ];
  const rows = Object.entries(report.policies).map(([name, p]) => [
    policyLabel(name, p),
    p.servedWarmPct.toFixed(2),
    p.unservedInstanceSeconds.toFixed(0),
    p.waitP50S.toFixed(1),
    p.waitP99S.toFixed(1),
    p.idleWarmInstanceHours.toFixed(1),
    String(p.apiCalls),
  ]);
  const days = options.byDay ? `\n${formatDays(report)}` : '';
  return `${head}\n\n${alignColumns([cols, ...rows]).join('\n')}\n${days}\n(${seconds.toFixed(1)} s)\n`;
}

/** Day by day, per policy: the share served from warm and the mean warm held, `99.87 % / 19.5`. */
function formatDays(report: SimulateReport): string {
  const entries = Object.entries(report.policies);
  const cols = ['day', ...entries.map(([name, p]) => policyLabel(name, p))];
  const days = [...new Set(entries.flatMap(([, p]) => p.byDay.map((d) => d.day)))].sort((a, b) => a - b);
  const rows = days.map((day) => [
    String(day),
    ...entries.map(([, p]) => {
      const d = p.byDay.find((x) => x.day === day);
      return d ? `${d.servedWarmPct.toFixed(2)} % / ${d.meanWarm.toFixed(1)}` : '–';
    }),
  ]);
  return `by day (served from warm / mean warm held):\n${alignColumns([cols, ...rows], 0).join('\n')}\n`;
}
