/**
 * The simulator's plot: one panel per policy, demand, instances in service and warm instances over time, as
 * a self-contained SVG (no dependencies, opens in any browser).
 */
import type { SimulateReport } from './simulate.js';

const WIDTH = 1000;
const PANEL = 180;
const GAP = 36;
const LEFT = 56;
const RIGHT = 16;
const TOP = 40;
const COLOURS = { demand: '#222222', active: '#1f77b4', warm: '#ff7f0e' } as const;

const esc = (s: string) => s.replace(/[<>&"]/g, (c) => `&#${c.charCodeAt(0)};`);

function path(
  xs: ArrayLike<number>,
  ys: ArrayLike<number>,
  x: (v: number) => number,
  y: (v: number) => number,
) {
  let d = '';
  for (let i = 0; i < xs.length; i++) {
    d += `${i === 0 ? 'M' : 'L'}${x(xs[i]!).toFixed(1)},${y(ys[i]!).toFixed(1)}`;
  }
  return d;
}

/** The SVG text; policies without a series (run without `series: true`) are left out. */
export function plotSvg(report: SimulateReport): string {
  const entries = Object.entries(report.policies).filter(([, p]) => p.series && p.series.t.length > 0);
  const height = TOP + entries.length * (PANEL + GAP) + 10;
  const plotW = WIDTH - LEFT - RIGHT;
  let yMax = 1;
  let tMax = 1;
  for (const [, p] of entries) {
    const s = p.series!;
    for (let i = 0; i < s.t.length; i++) {
      yMax = Math.max(yMax, s.demand[i]!, s.active[i]!, s.warm[i]!);
      tMax = Math.max(tMax, s.t[i]!);
    }
  }
  const days = tMax / 86_400_000;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${LEFT}" y="18" font-size="14">${esc(report.trace)}: demand, in service and warm (instances) over ${days.toFixed(1)} days</text>`,
    `<text x="${LEFT}" y="32" fill="${COLOURS.demand}">━ demand</text>`,
    `<text x="${LEFT + 80}" y="32" fill="${COLOURS.active}">━ in service</text>`,
    `<text x="${LEFT + 170}" y="32" fill="${COLOURS.warm}">━ warm</text>`,
  ];
  entries.forEach(([name, p], k) => {
    const s = p.series!;
    const top = TOP + k * (PANEL + GAP) + 14;
    const x = (t: number) => LEFT + (t / tMax) * plotW;
    const y = (v: number) => top + PANEL - (v / yMax) * PANEL;
    out.push(
      `<text x="${LEFT}" y="${top - 4}" font-weight="bold">${esc(name)}: ${p.servedWarmPct.toFixed(2)} % from warm, ${p.idleWarmInstanceHours.toFixed(0)} idle warm instance-h</text>`,
      `<rect x="${LEFT}" y="${top}" width="${plotW}" height="${PANEL}" fill="none" stroke="#ccc"/>`,
      `<text x="${LEFT - 6}" y="${top + 4}" text-anchor="end">${yMax}</text>`,
      `<text x="${LEFT - 6}" y="${top + PANEL}" text-anchor="end">0</text>`,
    );
    for (let d = 1; d < days; d++) {
      const gx = x(d * 86_400_000);
      out.push(
        `<line x1="${gx.toFixed(1)}" y1="${top}" x2="${gx.toFixed(1)}" y2="${top + PANEL}" stroke="#eee"/>`,
      );
    }
    for (const key of ['warm', 'active', 'demand'] as const) {
      out.push(
        `<path d="${path(s.t, s[key], x, y)}" fill="none" stroke="${COLOURS[key]}" stroke-width="1"/>`,
      );
    }
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
