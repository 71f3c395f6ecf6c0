/** Plain-text tables for benchmark reports (aligned columns, numbers right-aligned). */

export type Cell = string | number | boolean | null | undefined;

/** Format a number for a table: fixed digits, thousands kept readable, '–' for missing. */
export function fmt(x: Cell, digits = 1): string {
  if (x === null || x === undefined) return '–';
  if (typeof x === 'boolean') return x ? 'yes' : 'no';
  if (typeof x === 'string') return x;
  if (!Number.isFinite(x)) return '–';
  return x.toFixed(digits);
}

/**
 * Render rows under a header; numeric cells are right-aligned. Cells that are numbers are
 * printed with `digits` (per column, default 1) unless already strings.
 *
 * @example
 * console.log(formatTable(['file', 'ms'], [['a.mp4', 12.3]]));
 */
export function formatTable(header: readonly string[], rows: readonly (readonly Cell[])[], digits: number | readonly number[] = 1): string {
  const d = (c: number) => (typeof digits === 'number' ? digits : (digits[c] ?? 1));
  const text = rows.map((r) => header.map((_, c) => fmt(r[c], d(c))));
  const numeric = header.map((_, c) => rows.length > 0 && rows.every((r) => typeof r[c] === 'number' || r[c] === null || r[c] === undefined));
  const width = header.map((h, c) => Math.max(h.length, ...text.map((r) => r[c].length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((s, c) => (numeric[c] ? s.padStart(width[c]) : s.padEnd(width[c])))
      .join('  ')
      .trimEnd();
  return [line(header), line(width.map((w) => '-'.repeat(w))), ...text.map(line)].join('\n');
}

/** A Markdown table (for pasting into bench/RESULTS.md). */
export function formatMarkdownTable(header: readonly string[], rows: readonly (readonly Cell[])[], digits: number | readonly number[] = 1): string {
  const d = (c: number) => (typeof digits === 'number' ? digits : (digits[c] ?? 1));
  const out = [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`];
  for (const r of rows) out.push(`| ${header.map((_, c) => fmt(r[c], d(c))).join(' | ')} |`);
  return out.join('\n');
}
