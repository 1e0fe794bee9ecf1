import { DuckDBInstance, BIGINT, LIST, listValue } from '@duckdb/node-api';
import { UnprocessableError } from '../errors/cleanroom-error.ts';

/**
 * Reading and writing a member's own files on its own machine (the CLI side of PSI), with a
 * throwaway single-threaded DuckDB so row order is the file's order.
 */
async function withLocalDuckDb<T>(
  work: (run: (sql: string, values?: Record<string, unknown>) => Promise<unknown[][]>) => Promise<T>,
): Promise<T> {
  const instance = await DuckDBInstance.create(':memory:', { threads: '1' });
  const connection = await instance.connect();
  try {
    return await work(async (sql, values) => {
      const prepared = await connection.prepare(sql);
      try {
        if (values) {
          const rows = values.rows as number[] | undefined;
          prepared.bind(
            { ...values, ...(rows ? { rows: listValue(rows.map((r) => BigInt(r))) } : {}) } as never,
            rows ? { rows: LIST(BIGINT) } : undefined,
          );
        }
        return (await prepared.runAndReadAll()).getRowsJS();
      } finally {
        prepared.destroySync();
      }
    });
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

/** One column of a local CSV, as text, in file order (null for empty cells). */
export async function readCsvColumn(path: string, column: string): Promise<(string | null)[]> {
  return withLocalDuckDb(async (run) => {
    const header = await run(
      'SELECT column_name FROM (DESCRIBE SELECT * FROM read_csv($path, header = true, all_varchar = true))',
      { path },
    );
    const names = header.map((r) => String(r[0]));
    if (!names.includes(column)) throw new Error(`${path} has no column "${column}" (columns: ${names.join(', ')})`);
    const rows = await run(
      `SELECT "${column.replaceAll('"', '""')}" FROM read_csv($path, header = true, all_varchar = true)`,
      { path },
    );
    return rows.map((r) => (r[0] === null || r[0] === undefined ? null : String(r[0])));
  });
}

/** The number of data rows of a local CSV (DuckDB's scan, ~1 s per 300 MB here): a total for progress. */
export async function countCsvRows(path: string): Promise<number> {
  return withLocalDuckDb(async (run) => {
    const [row] = await run('SELECT count(*) FROM read_csv($path, header = true, all_varchar = true)', { path });
    return Number(row?.[0] ?? 0);
  });
}

/**
 * One column of a local CSV, streamed in DuckDB's chunks (2,048 rows) rather than read whole: at
 * 10M rows the whole column as JS strings is ~700 MB before anything is done with it.
 */
export async function* streamCsvColumn(path: string, column: string): AsyncGenerator<(string | null)[]> {
  const instance = await DuckDBInstance.create(':memory:', { threads: '1' });
  const connection = await instance.connect();
  try {
    const header = await connection.runAndReadAll(
      'SELECT column_name FROM (DESCRIBE SELECT * FROM read_csv($path, header = true, all_varchar = true))',
      { path },
    );
    const names = header.getRowsJS().map((r) => String(r[0]));
    if (!names.includes(column)) throw new Error(`${path} has no column "${column}" (columns: ${names.join(', ')})`);
    const result = await connection.stream(
      `SELECT "${column.replaceAll('"', '""')}" FROM read_csv($path, header = true, all_varchar = true)`,
      { path },
    );
    for (let chunk = await result.fetchChunk(); chunk && chunk.rowCount > 0; chunk = await result.fetchChunk()) {
      yield chunk.getColumnValues(0).map((v) => (v === null || v === undefined ? null : String(v)));
    }
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

/** Writes the given rows (0-based, in file order) of a local CSV to another CSV, header first. */
export async function writeCsvRows(input: string, rows: readonly number[], output: string): Promise<void> {
  await withLocalDuckDb(async (run) => {
    await run(
      `COPY (SELECT * EXCLUDE (__row)
             FROM (SELECT *, row_number() OVER () - 1 AS __row FROM read_csv($input, header = true, all_varchar = true))
             WHERE list_contains($rows, __row) ORDER BY __row)
       TO '${output.replaceAll("'", "''")}' (HEADER, DELIMITER ',')`,
      { input, rows: [...rows] },
    );
  });
}

/** One column of a model, as the scorer needs it: how to compute it from a row and its coefficient. */
export type ScoringTerm =
  | { readonly encoding: 'intercept'; readonly coefficient: number }
  | {
      readonly encoding: 'numeric';
      readonly column: string;
      readonly bounds: readonly [number, number];
      readonly coefficient: number;
    }
  | { readonly encoding: 'one-hot'; readonly column: string; readonly level: string; readonly coefficient: number };

/**
 * Scores a member's own CSV with a model's coefficients on its own machine: every input column kept,
 * plus `score` (x·β, clipped and one-hot encoded as in training; for a logistic model σ(x·β)), written
 * to `out` as CSV. Names and levels are passed as bound values or quoted identifiers, never spliced raw.
 */
export async function scoreCsv(
  path: string,
  terms: readonly ScoringTerm[],
  logistic: boolean,
  out: string,
): Promise<number> {
  const ident = (name: string) => `"${name.replaceAll('"', '""')}"`;
  const literal = (text: string) => `'${text.replaceAll("'", "''")}'`;
  const number = (v: number) => {
    if (!Number.isFinite(v)) throw new RangeError('a model coefficient or bound is not a finite number');
    return `CAST(${String(v)} AS DOUBLE)`;
  };
  const parts = terms.map((t) => {
    if (t.encoding === 'intercept') return number(t.coefficient);
    if (t.encoding === 'numeric') {
      const value = `TRY_CAST(${ident(t.column)} AS DOUBLE)`;
      // greatest/least skip NULL: a missing value must give no score, not the bound.
      const clipped = `greatest(${number(t.bounds[0])}, least(${number(t.bounds[1])}, ${value}))`;
      return `${number(t.coefficient)} * (CASE WHEN ${value} IS NULL THEN NULL ELSE ${clipped} END)`;
    }
    const matches = `CAST(${ident(t.column)} AS VARCHAR) = ${literal(t.level)}`;
    return `${number(t.coefficient)} * (CASE WHEN ${matches} THEN 1 ELSE 0 END)`;
  });
  const eta = parts.length > 0 ? parts.join(' + ') : '0';
  const score = logistic ? `1 / (1 + exp(-(${eta})))` : `(${eta})`;
  return withLocalDuckDb(async (run) => {
    const header = (await run(
      `SELECT column_name FROM (DESCRIBE SELECT * FROM read_csv(${literal(path)}, header = true, all_varchar = true))`,
    )) as [string][];
    const present = new Set(header.map(([name]) => name));
    const missing = [
      ...new Set(terms.flatMap((t) => (t.encoding === 'intercept' || present.has(t.column) ? [] : [t.column]))),
    ];
    if (missing.length > 0)
      throw new UnprocessableError(
        'MODEL_FEATURES_MISSING',
        `${path} has no column ${missing.join(', ')}: the model needs one per feature (a missing value in a row ` +
          'gives that row no score; a missing column scores nothing).',
        { columns: missing },
      );
    await run(
      `COPY (SELECT *, ${score} AS score FROM read_csv(${literal(path)}, header = true, all_varchar = true)) ` +
        `TO ${literal(out)} (HEADER, DELIMITER ',')`,
    );
    const [[rows]] = (await run(`SELECT count(*) FROM read_csv(${literal(out)}, header = true)`)) as [[bigint]];
    return Number(rows);
  });
}
