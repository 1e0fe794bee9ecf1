import type { DuckDBResultReader } from '@duckdb/node-api';

/** A JSON-safe cell: DuckDB's BIGINT/HUGEINT become numbers when exact, else decimal strings. */
export type Cell = string | number | boolean | null;

export interface ResultTable {
  readonly columns: readonly { readonly name: string; readonly type: string }[];
  readonly rows: readonly (readonly Cell[])[];
}

function toCell(value: unknown): Cell {
  if (value === null || value === undefined) return null;
  if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  // JSON (and RFC 8785, which the release's digest uses) has no NaN or ±Infinity: a division by 0.0
  // in a released column is released as NULL, the same in the answer and in its audited digest.
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value === 'boolean' || typeof value === 'string') return value;
  return String(value);
}

/**
 * Reads a materialised result into plain rows and typed column names: numbers as numbers (exact
 * BIGINTs become JSON numbers), everything else in DuckDB's JSON form (dates as ISO strings).
 */
export function toResultTable(result: DuckDBResultReader): ResultTable {
  const columns = result.columnNames().map((name, i) => ({ name, type: result.columnType(i).toString() }));
  const js = result.getRowsJS();
  const rows = result.getRowsJson().map((row, r) =>
    row.map((cell, c) => {
      const native = js[r]?.[c];
      return typeof native === 'bigint' || typeof native === 'number' ? toCell(native) : toCell(cell);
    }),
  );
  return { columns, rows };
}
