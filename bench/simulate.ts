/**
 * bench:simulate: the simulator's two figures of record.
 * - Every trace of a folder (default ../shared/traces) under the four policies and the `timing` yardstick,
 *   as the README's table:
 *     npm run bench:simulate [-- --traces DIR] [--json]
 * - Speed: a four-week trace at one-minute steps (seeded daily and weekly waves with noise and bursts),
 *   all four policies, wall-clock seconds:
 *     npm run bench:simulate -- --speed [--weeks 4] [--json]
 * Progress goes to stderr; the last line on stdout is one JSON object.
 */

import { readdir } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { policyLabel, summary } from '../lib/runtime/simulate-cli.js';
import {
  DEFAULT_POLICIES,
  loadTrace,
  parsePolicy,
  parseTrace,
  type SimulateReport,
  simulate,
} from '../lib/sim/index.js';
import { mulberry32 } from '../lib/util/index.js';

const { values } = parseArgs({
  options: {
    traces: { type: 'string', default: join(import.meta.dirname, '..', '..', 'shared', 'traces') },
    speed: { type: 'boolean', default: false },
    weeks: { type: 'string', default: '4' },
    json: { type: 'boolean', default: false },
  },
});
const policies = DEFAULT_POLICIES.map((p) => parsePolicy(p));
const withTiming = [...policies, parsePolicy('timing')];
const threads = availableParallelism();
const progress = (msg: string) => process.stderr.write(`bench:simulate: ${msg}\n`);

/** Weeks of one-minute demand: a daily wave, quieter weekends, noise and a burst now and then. */
function syntheticCsv(weeks: number): string {
  const rand = mulberry32(7);
  const rows = ['t,value'];
  for (let t = 0; t < weeks * 7 * 86_400; t += 60) {
    const day = (t / 86_400) % 7;
    const weekend = day >= 5 ? 0.8 : 1;
    const wave = 50 + 35 * Math.sin((2 * Math.PI * t) / 86_400);
    const burst = rand() < 0.002 ? 20 * rand() : 0;
    rows.push(`${t},${(weekend * wave + 4 * rand() + burst).toFixed(3)}`);
  }
  return `${rows.join('\n')}\n`;
}

function row(r: SimulateReport, name: string): string {
  const p = r.policies[name]!;
  const oracle = r.policies.oracle!.idleWarmInstanceHours;
  const vsOracle = oracle > 0 ? `${(p.idleWarmInstanceHours / oracle).toFixed(1)}×` : '–';
  return `| ${r.trace} | ${policyLabel(name, p)} | ${p.servedWarmPct.toFixed(2)} | ${p.unservedInstanceSeconds.toFixed(0)} | ${p.waitP99S.toFixed(1)} | ${p.idleWarmInstanceHours.toFixed(0)} | ${vsOracle} | ${p.apiCalls} |`;
}

if (values.speed) {
  const weeks = Number(values.weeks);
  if (!(weeks > 0)) throw new Error(`--weeks must be > 0 (got ${values.weeks})`);
  const trace = parseTrace(syntheticCsv(weeks), `synthetic-${weeks}w-1min`);
  progress(`${trace.values.length} rows, four policies on ${threads} threads`);
  const started = performance.now();
  const report = await simulate({ trace, policies, threads });
  const seconds = (performance.now() - started) / 1000;
  if (!values.json) process.stdout.write(`${DEFAULT_POLICIES.map((n) => row(report, n)).join('\n')}\n`);
  process.stdout.write(
    `${JSON.stringify({ rows: trace.values.length, threads, seconds: Math.round(seconds * 10) / 10, ...summary(report) })}\n`,
  );
} else {
  const files = (await readdir(values.traces)).filter((f) => f.endsWith('.csv')).sort();
  if (files.length === 0) throw new Error(`no .csv traces in ${values.traces}`);
  const lines = [
    '| trace | policy | served warm % | unserved inst-s | wait p99 s | idle warm inst-h | idle vs oracle | API calls |',
    '|---|---|---:|---:|---:|---:|---:|---:|',
  ];
  const all: Record<string, unknown>[] = [];
  for (const file of files) {
    const trace = await loadTrace(join(values.traces, file));
    const started = performance.now();
    const report = await simulate({ trace, policies: withTiming, threads });
    progress(`${trace.name}: ${((performance.now() - started) / 1000).toFixed(1)} s`);
    lines.push(...withTiming.map((c) => row(report, c.label)));
    all.push(summary(report));
  }
  if (!values.json) process.stdout.write(`${lines.join('\n')}\n`);
  process.stdout.write(`${JSON.stringify({ traces: all })}\n`);
}
