import type { Cell } from '../store/result-values.ts';

/** Characters a spreadsheet reads as the start of a formula (OWASP "CSV injection"), and tab/CR, which some strip. */
const FORMULA_LEAD = /^[=+\-@\t\r]/;

/**
 * One CSV cell (RFC 4180): NULL is empty, an empty string is `""`, numbers in full precision. With
 * `neutralise`, text that a spreadsheet would run as a formula gets a leading apostrophe (numbers
 * are numbers, never neutralised: -5 stays -5).
 */
export function csvCell(value: Cell, neutralise: boolean): string {
  if (value === null) return '';
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  const text = neutralise && FORMULA_LEAD.test(value) ? `'${value}` : value;
  return text === '' || /[",\r\n]/.test(text) || text.trim() !== text ? `"${text.replaceAll('"', '""')}"` : text;
}

/** A header line and one line per row, CRLF-free (LF), as bytes. */
export function toCsv(columns: readonly string[], rows: readonly (readonly Cell[])[], neutralise: boolean): Uint8Array {
  const lines = [columns.map((c) => csvCell(c, neutralise)).join(',')];
  for (const row of rows) lines.push(row.map((cell) => csvCell(cell, neutralise)).join(','));
  return new TextEncoder().encode(`${lines.join('\n')}\n`);
}
