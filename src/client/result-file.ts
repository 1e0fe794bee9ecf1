import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { toCsv } from '../extract/extract-csv.ts';
import { csvToParquet } from '../store/local-parquet.ts';
import type { Cell } from '../store/result-values.ts';

/** How released rows leave the CLI: a table for a person, or a machine format in full precision. */
export const RESULT_FORMATS = ['table', 'csv', 'json', 'ndjson', 'parquet'] as const;
export type ResultFormat = (typeof RESULT_FORMATS)[number];

export interface ReleasedRows {
  readonly columns: readonly { readonly name: string; readonly type: string }[];
  readonly rows: readonly (readonly Cell[])[];
}

/** The format a file name asks for (`.csv`, `.json`, `.ndjson`/`.jsonl`, `.parquet`), if any. */
export function formatOfPath(path: string): ResultFormat | undefined {
  const extension = extname(path).toLowerCase();
  return ({ '.csv': 'csv', '.json': 'json', '.ndjson': 'ndjson', '.jsonl': 'ndjson', '.parquet': 'parquet' } as const)[
    extension
  ];
}

/**
 * Text formats, as bytes. CSV neutralises formula-leading text (a spreadsheet would run `=HYPERLINK(…)`
 * from a partner's value); JSON is `whole` (the answer with its provenance) or, for NDJSON, one object
 * per row keyed by column name. Numbers are written as JavaScript prints them: every digit the room sent.
 */
export function renderRows(format: 'csv' | 'ndjson', released: ReleasedRows): Uint8Array {
  const names = released.columns.map((c) => c.name);
  if (format === 'csv') return toCsv(names, released.rows, true);
  const lines = released.rows.map((row) => JSON.stringify(Object.fromEntries(names.map((n, i) => [n, row[i]]))));
  return new TextEncoder().encode(lines.map((l) => `${l}\n`).join(''));
}

/**
 * Writes released rows to `path` (mode 0600: they are the member's results) in `format`. Parquet keeps
 * each column's type as the room declared it, written by DuckDB on this machine from an exact CSV.
 */
export async function writeResultFile(
  path: string,
  format: Exclude<ResultFormat, 'table'>,
  released: ReleasedRows,
  whole: unknown,
): Promise<void> {
  if (format === 'parquet') {
    const dir = await mkdtemp(join(tmpdir(), 'cleanroom-result-'));
    try {
      const csv = join(dir, 'result.csv');
      await writeFile(
        csv,
        toCsv(
          released.columns.map((c) => c.name),
          released.rows,
          false,
        ),
        { mode: 0o600 },
      );
      await csvToParquet(csv, released.columns, path);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    return;
  }
  const bytes =
    format === 'json' ? new TextEncoder().encode(`${JSON.stringify(whole, null, 2)}\n`) : renderRows(format, released);
  await writeFile(path, bytes, { mode: 0o600 });
}
