/**
 * Rows of cells as aligned text columns, two spaces apart: the first `left` columns left-aligned (names),
 * the rest right-aligned (numbers). The first row is usually the header.
 *
 * @example alignColumns([['host', 'warm'], ['sim-host-01', '2']]) // ['host         warm', 'sim-host-01     2']
 */
export function alignColumns(rows: readonly (readonly string[])[], left = 1): string[] {
  const widths = (rows[0] ?? []).map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) =>
    r.map((cell, i) => (i < left ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  '),
  );
}
