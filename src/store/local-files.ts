import { DuckDBInstance, BIGINT, LIST, listValue } from '@duckdb/node-api';

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
