import { DuckDBInstance, type DuckDBConnection, type DuckDBValue } from '@duckdb/node-api';
import { SerialQueue } from './serial-queue.ts';
import { STATE_SCHEMA } from './state-schema.ts';

export type Row = Record<string, string | number | boolean | null>;
type Params = readonly (string | number | boolean | null)[];

/** What a write transaction can do: plain SQL on the room-state database, inside BEGIN … COMMIT. */
export interface StateTx {
  run(sql: string, params?: Params): Promise<void>;
  all(sql: string, params?: Params): Promise<Row[]>;
}

function plain(value: unknown): string | number | boolean | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'string') return value;
  return String(value);
}

async function all(connection: DuckDBConnection, sql: string, params: Params = []): Promise<Row[]> {
  const reader = await connection.runAndReadAll(sql, params as DuckDBValue[]);
  const names = reader.columnNames();
  return reader.getRowsJS().map((row) => Object.fromEntries(row.map((v, i) => [names[i] as string, plain(v)])));
}

/**
 * The room's own persistent state (acceptances, registry, templates, budgets, audit chain) in a
 * DuckDB file. It never holds a dataset row. Writes are serialised and transactional, so an act and
 * its audit entry commit together or not at all, and concurrent spenders cannot overspend.
 */
export class StateDb {
  private readonly writes = new SerialQueue();

  private constructor(private readonly instance: DuckDBInstance, private readonly connection: DuckDBConnection) {}

  static async open(path: string): Promise<StateDb> {
    const instance = await DuckDBInstance.create(path, { threads: '1', autoinstall_known_extensions: 'false', autoload_known_extensions: 'false' });
    const connection = await instance.connect();
    for (const statement of STATE_SCHEMA) await connection.run(statement);
    return new StateDb(instance, connection);
  }

  /** Runs `work` in one transaction; any throw rolls back everything it did. */
  write<T>(work: (tx: StateTx) => Promise<T>): Promise<T> {
    return this.writes.run(async () => {
      const tx: StateTx = {
        run: async (sql, params = []) => void (await this.connection.run(sql, params as DuckDBValue[])),
        all: (sql, params) => all(this.connection, sql, params),
      };
      await this.connection.run('BEGIN TRANSACTION');
      try {
        const result = await work(tx);
        await this.connection.run('COMMIT');
        return result;
      } catch (error) {
        await this.connection.run('ROLLBACK');
        throw error;
      }
    });
  }

  /** Reads go through the same queue so they never see a half-applied write. */
  read(sql: string, params: Params = []): Promise<Row[]> {
    return this.writes.run(() => all(this.connection, sql, params));
  }

  close(): void {
    this.connection.closeSync();
    this.instance.closeSync();
  }
}
