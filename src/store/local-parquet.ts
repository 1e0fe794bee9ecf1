import { DuckDBInstance } from '@duckdb/node-api';

/**
 * Row count of a local Parquet file, from its footer metadata, on the uploader's own machine.
 * A throwaway in-memory DuckDB reads only the footer, not the data.
 */
export async function parquetRowCount(path: string): Promise<number> {
  const instance = await DuckDBInstance.create(':memory:', { threads: '1' });
  try {
    const connection = await instance.connect();
    try {
      const reader = await connection.runAndReadAll('SELECT sum(num_rows) FROM parquet_file_metadata($1)', [path]);
      return Number(reader.getRows()[0]?.[0] ?? 0);
    } finally {
      connection.closeSync();
    }
  } finally {
    instance.closeSync();
  }
}

/**
 * Converts a local CSV (header, RFC 4180, an empty unquoted cell is NULL, `""` an empty string) to
 * Parquet with the given column types, on the member's own machine: a throwaway DuckDB, no network.
 */
export async function csvToParquet(
  csvPath: string,
  columns: readonly { readonly name: string; readonly type: string }[],
  out: string,
): Promise<void> {
  const instance = await DuckDBInstance.create(':memory:', { threads: '1' });
  try {
    const connection = await instance.connect();
    try {
      const quote = (text: string) => `'${text.replaceAll("'", "''")}'`;
      const typed = columns.map((c) => `${quote(c.name)}: ${quote(c.type)}`).join(', ');
      await connection.run(
        `COPY (SELECT * FROM read_csv(${quote(csvPath)}, header = true, auto_detect = false, ` +
          `allow_quoted_nulls = false, columns = {${typed}})) TO ${quote(out)} (FORMAT parquet)`,
      );
    } finally {
      connection.closeSync();
    }
  } finally {
    instance.closeSync();
  }
}

/**
 * Every row of a local Parquet file as JSON-like cells, in file order: integers as numbers (exact up
 * to 2^53, as the room's answers are), dates and other typed values as DuckDB prints them.
 */
export async function readParquetRows(
  path: string,
  withColumns: true,
): Promise<{ columns: string[]; rows: (string | number | boolean | null)[][] }>;
export async function readParquetRows(path: string): Promise<(string | number | boolean | null)[][]>;
export async function readParquetRows(
  path: string,
  withColumns = false,
): Promise<
  (string | number | boolean | null)[][] | { columns: string[]; rows: (string | number | boolean | null)[][] }
> {
  const instance = await DuckDBInstance.create(':memory:', { threads: '1' });
  try {
    const connection = await instance.connect();
    try {
      const reader = await connection.runAndReadAll('SELECT * FROM read_parquet($1)', [path]);
      const rows = reader
        .getRows()
        .map((row) =>
          row.map((v) =>
            v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean'
              ? v
              : typeof v === 'bigint'
                ? Number(v)
                : String(v),
          ),
        );
      return withColumns ? { columns: reader.columnNames(), rows } : rows;
    } finally {
      connection.closeSync();
    }
  } finally {
    instance.closeSync();
  }
}
