/**
 * bench:rises: how predictable the rises of each trace are, without the cloud. For every trace of a folder
 * (default ../shared/traces), scaled as the simulator scales it (peak 100, lead time 180 s, scale-in held
 * 300 s):
 * - `fixed`: the smallest fixed pool that covers 99.5 % of the measured days' rises, chosen with hindsight
 *   (what `static`'s search finds, as if the pool refilled at once); `perDay`: the same, day by day;
 * - `online`: the mean pool of a rule that sizes the pool before each row from one observable, fitted on
 *   the days before only (lib/sim/rises.ts, `onlineSizing`); `none` is a fixed pool re-fitted every day.
 *   `vsFixedPct` is its pool against `fixed`: below zero, the observable lets a pool hold less than the
 *   best fixed one.
 *     npm run bench:rises [-- --traces DIR] [--target 99.5] [--json]
 * Progress goes to stderr; the last line on stdout is one JSON object.
 */

import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  DEFAULT_PEAK_INSTANCES,
  DEFAULT_TARGET_PCT,
  defaultSimConfig,
  fixedCovering,
  loadTrace,
  observables,
  onlineSizing,
  riseModel,
  risesByRow,
  toDemand,
} from '../lib/sim/index.js';

const { values } = parseArgs({
  options: {
    traces: { type: 'string', default: join(import.meta.dirname, '..', '..', 'shared', 'traces') },
    target: { type: 'string', default: String(DEFAULT_TARGET_PCT) },
    json: { type: 'boolean', default: false },
  },
});
const targetPct = Number(values.target);
if (!(targetPct > 0 && targetPct <= 100))
  throw new Error(`--target must be in (0, 100] (got ${values.target})`);
const share = targetPct / 100;
const DAY_MS = 86_400_000;

const files = (await readdir(values.traces)).filter((f) => f.endsWith('.csv')).sort();
if (files.length === 0) throw new Error(`no .csv traces in ${values.traces}`);
const results: Record<string, unknown>[] = [];
const lines: string[] = [];
for (const file of files) {
  const trace = await loadTrace(join(values.traces, file));
  const { demand } = toDemand(trace, { peakInstances: DEFAULT_PEAK_INSTANCES });
  const spec = defaultSimConfig(DEFAULT_PEAK_INSTANCES, trace.stepMs).pools[0]!;
  const model = riseModel(spec, demand, trace.stepMs);
  const { rise, serving } = risesByRow(model);
  const dayRows = Math.round(DAY_MS / trace.stepMs);
  const measured = rise.subarray(dayRows);
  const fixed = round(fixedCovering(measured, share), 2);
  const perDay: number[] = [];
  for (let from = dayRows; from < rise.length; from += dayRows) {
    perDay.push(round(fixedCovering(rise.subarray(from, from + dayRows), share), 1));
  }
  const online: Record<string, { meanPool: number; coveredPct: number; vsFixedPct: number }> = {};
  const none = { name: 'none', value: new Float64Array(rise.length) };
  for (const o of [none, ...observables(model, trace.stepMs, rise, serving)]) {
    const r = onlineSizing(rise, o.value, dayRows, model.leadRows, 1, share, o === none ? 1 : 4);
    online[o.name] = {
      meanPool: round(r.meanPool, 2),
      coveredPct: round(r.coveredPct, 2),
      vsFixedPct: round(fixed > 0 ? (100 * (r.meanPool - fixed)) / fixed : 0, 1),
    };
  }
  const best = Object.entries(online).reduce((a, b) => (b[1].meanPool < a[1].meanPool ? b : a));
  process.stderr.write(`bench:rises: ${trace.name}: fixed ${fixed}, best online ${best[0]}\n`);
  lines.push(
    `| ${trace.name} | ${fixed} | ${Math.min(...perDay)}–${Math.max(...perDay)} | ${Object.values(online)
      .map(
        (o) =>
          `${o.vsFixedPct > 0 ? '+' : ''}${o.vsFixedPct} %${o.coveredPct < targetPct - 0.005 ? ` (${o.coveredPct} % at most)` : ''}`,
      )
      .join(' | ')} |`,
  );
  results.push({ trace: trace.name, stepS: trace.stepMs / 1000, fixed, perDay, online });
}
if (!values.json) {
  const names = Object.keys((results[0] as { online: object }).online);
  process.stdout.write(
    `| trace | fixed pool (hindsight) | per day | ${names.map((n) => `online: ${n}`).join(' | ')} |\n` +
      `|---|---:|---:|${names.map(() => '---:').join('|')}|\n${lines.join('\n')}\n`,
  );
}
process.stdout.write(`${JSON.stringify({ targetPct, traces: results })}\n`);

function round(n: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}
