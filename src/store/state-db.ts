import { chmod } from 'node:fs/promises';
import { DuckDBInstance, type DuckDBConnection, type DuckDBValue } from '@duckdb/node-api';
import './duckdb-text.ts';
import { CleanroomError } from '../errors/cleanroom-error.ts';
import { storageUnavailable, type StorageFailure } from '../errors/storage-failure.ts';
import { SerialQueue } from './serial-queue.ts';
import { STATE_SCHEMA } from './state-schema.ts';

export type Row = Record<string, string | number | boolean | null>;
type Params = readonly (string | number | boolean | null)[];

/**
 * Plain SQL reads on the room-state database: a write transaction's, or the database's own (queued
 * behind writes). Only the repositories in `state/` write SQL against it.
 */
export interface StateReader {
  all(sql: string, params?: Params): Promise<Row[]>;
}

/** What a write transaction can do: plain SQL on the room-state database, inside BEGIN … COMMIT. */
export interface StateTx extends StateReader {
  run(sql: string, params?: Params): Promise<void>;
}

function plain(value: unknown): string | number | boolean | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'string') return value;
  // Timestamps leave as ISO 8601 UTC (2026-12-02T00:56:35.123Z), never a Date's locale text.
  if (value instanceof Date) return value.toISOString();
  return String(value);
}

async function readRows(connection: DuckDBConnection, sql: string, params: Params = []): Promise<Row[]> {
  const reader = await connection.runAndReadAll(sql, params as DuckDBValue[]);
  const names = reader.columnNames();
  return reader.getRowsJS().map((row) => Object.fromEntries(row.map((v, i) => [names[i] as string, plain(v)])));
}

/** DuckDB reports the operating system's error text inside its IO errors; these are disk trouble. */
const DISK_MESSAGES: readonly [RegExp, StorageFailure][] = [
  [/no space left on device/i, 'no-space'],
  [/disk quota exceeded/i, 'quota-exceeded'],
  [/read-only file system/i, 'read-only'],
  [/permission denied/i, 'no-permission'],
  [/input\/output error/i, 'io-error'],
  [/file too large/i, 'file-too-large'],
];

/** A failed state write as the room reports it: disk trouble is a 503 that says nothing changed. */
function writeFailure(error: unknown): unknown {
  if (error instanceof CleanroomError || !(error instanceof Error)) return error;
  const failure = DISK_MESSAGES.find(([pattern]) => pattern.test(error.message))?.[1];
  return failure
    ? storageUnavailable(
        failure,
        'write its state database',
        'Nothing was changed or charged; try again once its storage is writable.',
        error,
      )
    : error;
}

/**
 * The room's own persistent state (acceptances, registry, templates, budgets, audit chain) in a
 * DuckDB file, read and written through the per-table repositories in `state/`. It never holds a
 * dataset row. Writes are serialised and transactional, so an act and
 * its audit entry commit together or not at all, and concurrent spenders cannot overspend.
 */
export class StateDb implements StateReader {
  private readonly writes = new SerialQueue();

  private constructor(
    private readonly instance: DuckDBInstance,
    private connection: DuckDBConnection,
  ) {}

  static async open(path: string): Promise<StateDb> {
    const instance = await DuckDBInstance.create(path, {
      threads: '1',
      autoinstall_known_extensions: 'false',
      autoload_known_extensions: 'false',
    });
    const connection = await instance.connect();
    for (const statement of STATE_SCHEMA) await connection.run(statement);
    // Files an older version left 0644; new ones follow the room's owner-only umask.
    for (const file of [path, `${path}.wal`]) await chmod(file, 0o600).catch(() => undefined);
    return new StateDb(instance, connection);
  }

  /** Runs `work` in one transaction; any throw rolls back everything it did. */
  write<T>(work: (tx: StateTx) => Promise<T>): Promise<T> {
    return this.writes.run(async () => {
      const tx: StateTx = {
        run: async (sql, params = []) => void (await this.connection.run(sql, params as DuckDBValue[])),
        all: (sql, params) => readRows(this.connection, sql, params),
      };
      await this.connection.run('BEGIN TRANSACTION');
      try {
        const result = await work(tx);
        await this.connection.run('COMMIT');
        return result;
      } catch (error) {
        await this.abandonTransaction();
        throw writeFailure(error);
      }
    });
  }

  /**
   * Ends a failed transaction without hiding why it failed. A COMMIT that fails (e.g. the WAL
   * write hits a full disk) has already ended the transaction, so ROLLBACK then throws "no
   * transaction is active": that is the expected state, not an error. Any other rollback failure
   * leaves the connection's state unknown, so it is replaced: closing it aborts whatever was open,
   * and the next write must never start inside a half-finished transaction.
   */
  private async abandonTransaction(): Promise<void> {
    try {
      await this.connection.run('ROLLBACK');
    } catch (error) {
      if (/no transaction is active/i.test((error as Error).message)) return;
      this.connection.closeSync();
      this.connection = await this.instance.connect();
    }
  }

  /** Reads go through the same queue so they never see a half-applied write. */
  all(sql: string, params: Params = []): Promise<Row[]> {
    return this.writes.run(() => readRows(this.connection, sql, params));
  }

  close(): void {
    this.connection.closeSync();
    this.instance.closeSync();
  }
}
