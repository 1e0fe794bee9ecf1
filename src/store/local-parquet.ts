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
