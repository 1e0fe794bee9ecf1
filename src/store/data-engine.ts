import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import './duckdb-text.ts';
import { UnavailableError, UnprocessableError } from '../errors/cleanroom-error.ts';
import { toDuckDbParameters, type BoundParameter } from './bound-parameters.ts';
import {
  loadRefusal,
  unsafeDatesRefusal,
  unsafeDatesSql,
  unsafeDoublesRefusal,
  unsafeDoublesSql,
} from './load-refusals.ts';
import { toResultTable, type ResultTable } from './result-values.ts';
import { SerialQueue } from './serial-queue.ts';

export interface DataEngineOptions {
  /** Private directory (mode 0700) that loads read from; the only path SQL can reach. */
  readonly stagingDirectory: string;
  readonly memoryLimit: string;
  readonly threads: number;
  readonly statementTimeoutMs: number;
}

/** The declared shape of a dataset's table, in column order. */
export interface TableShape {
  readonly schema: string;
  readonly table: string;
  readonly columns: readonly { readonly name: string; readonly type: string }[];
  /** the privacy unit's column (an executor on a cluster shards by it) */
  readonly unit?: string;
}

export type LoadSource =
  { readonly kind: 'csv'; readonly path: string } | { readonly kind: 'parquet'; readonly path: string };

const NO_LOCATION = '18446744073709551615';

/**
 * read_csv's buffer for a CSV streamed through a pipe. Measured at 10M rows (1.25 GB) on 2 threads:
 * the default parses a pipe in 4.9 s using 9.2 CPU s; 16 MiB buffers let both threads parse in
 * 3.6 s using 7.0 CPU s, faster than read_csv of the same file on disk (2-8 MiB: no gain).
 */
const PIPE_BUFFER_BYTES = 16 * 1024 * 1024;

const ident = (name: string): string => `"${name.replaceAll('"', '""')}"`;
const literal = (text: string): string => `'${text.replaceAll("'", "''")}'`;

/**
 * The in-memory DuckDB that holds datasets while the room runs. It is locked down at open:
 * no spilling (temp_directory empty, so plaintext never reaches disk and the `.tmp` hole is
 * closed), file access only to the private staging directory, no external access, and
 * configuration locked so SQL cannot undo any of it.
 */
export class DataEngine {
  private readonly loads = new SerialQueue();
  private readonly running = new Set<DuckDBConnection>();
  /** schema.table of every live dataset table (queries skip a catalog lookup per dataset) */
  private readonly liveTables = new Set<string>();
  /** `schema.table` → a count of replacements and drops begun and ended; see tableGeneration */
  private readonly generations = new Map<string, number>();
  /** `schema.table` → replacements or drops in progress */
  private readonly replacing = new Map<string, number>();
  /** `schema.table` → the dataset version its live table holds */
  private readonly liveVersions = new Map<string, number>();
  /** schema.table → drops asked for and not yet done */
  private readonly pendingDrops = new Map<string, number>();
  private closing = false;
  /** Per live table and column: is every non-null value distinct? Reset when the table is replaced. */
  private readonly uniqueness = new Map<string, Promise<boolean>>();

  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly admin: DuckDBConnection,
    /** parses and renders SQL only, so a parse never waits behind a load or swap on `admin` */
    private readonly parser: DuckDBConnection,
    private readonly options: DataEngineOptions,
  ) {}

  static async open(options: DataEngineOptions): Promise<DataEngine> {
    const instance = await DuckDBInstance.create(':memory:', {
      threads: String(options.threads),
      memory_limit: options.memoryLimit,
      autoinstall_known_extensions: 'false',
      autoload_known_extensions: 'false',
    });
    const admin = await instance.connect();
    const staging = options.stagingDirectory.endsWith('/') ? options.stagingDirectory : `${options.stagingDirectory}/`;
    // Order matters: allowed_directories and temp_directory can only be set before the lock.
    await admin.run("SET temp_directory = ''");
    await admin.run(`SET allowed_directories = [${literal(staging)}]`);
    await admin.run('SET enable_external_access = false');
    await admin.run('SET lock_configuration = true');
    return new DataEngine(instance, admin, await instance.connect(), options);
  }

  /**
   * Loads a staged file into a fresh incoming table, checking declared types and that DOUBLEs are
   * finite and within ±1e100; returns its row count. A refusal says what and where in our words.
   */
  async loadIncoming(shape: TableShape, source: LoadSource, incomingName: string): Promise<number> {
    await this.loads.run(() => this.admin.run(`CREATE SCHEMA IF NOT EXISTS ${ident(shape.schema)}`));
    // Its own connection, outside the queue: a CSV load lasts as long as its client takes to send the
    // body, and a slow client must not hold up other loads, swaps or drops (found in a hostile review).
    return this.onOwnConnection(async (connection) => {
      const target = `${ident(shape.schema)}.${ident(incomingName)}`;
      const casts = shape.columns.map((c) => `CAST(${ident(c.name)} AS ${c.type}) AS ${ident(c.name)}`).join(', ');
      const select =
        source.kind === 'csv'
          ? `SELECT * FROM read_csv(${literal(source.path)}, header = true, auto_detect = false, strict_mode = true, ` +
            `delim = ',', quote = '"', escape = '"', null_padding = false, dateformat = '%Y-%m-%d', buffer_size = ` +
            `${PIPE_BUFFER_BYTES}, ` +
            `columns = {${shape.columns.map((c) => `${literal(c.name)}: ${literal(c.type)}`).join(', ')}})`
          : `SELECT ${casts} FROM read_parquet(${literal(source.path)})`;
      try {
        await connection.run(`CREATE OR REPLACE TABLE ${target} AS ${select}`);
      } catch (error) {
        await connection.run(`DROP TABLE IF EXISTS ${target}`).catch(() => undefined);
        throw loadRefusal(source.kind, shape, (error as Error).message);
      }
      const doubles = unsafeDoublesSql(target, shape);
      const datesSql = unsafeDatesSql(target, shape);
      const unsafe =
        (doubles && unsafeDoublesRefusal(shape, (await connection.runAndReadAll(doubles)).getRows()[0] ?? [])) ||
        (datesSql && unsafeDatesRefusal(shape, (await connection.runAndReadAll(datesSql)).getRows()[0] ?? []));
      if (unsafe) {
        await connection.run(`DROP TABLE ${target}`);
        throw unsafe;
      }
      const counted = await connection.runAndReadAll(`SELECT count(*) FROM ${target}`);
      return Number(counted.getRows()[0]?.[0] ?? 0);
    });
  }

  /**
   * Writes a table's columns to a Parquet file in the private staging directory, hands its path to
   * `use`, and deletes it after, whatever `use` did: an executor that reads the data elsewhere copies
   * a loaded version through it (src/executor). The staging directory is RAM-backed where the
   * system has /dev/shm, as for the loads themselves.
   */
  async withParquetCopy<T>(
    schema: string,
    table: string,
    columns: readonly string[],
    use: (path: string) => Promise<T>,
  ): Promise<T> {
    const path = join(this.options.stagingDirectory, `export-${randomBytes(8).toString('hex')}.parquet`);
    try {
      await this.onOwnConnection((connection) =>
        connection.run(
          `COPY (SELECT ${columns.map(ident).join(', ')} FROM ${ident(schema)}.${ident(table)}) TO ${literal(path)} ` +
            '(FORMAT parquet)',
        ),
      );
      return await use(path);
    } finally {
      await rm(path, { force: true });
    }
  }

  /**
   * The names and DuckDB types of a checked statement's columns, from its plan, without running it:
   * an executor elsewhere answers with the types the embedded engine would have given.
   */
  async describe(
    sql: string,
    parameters: Readonly<Record<string, BoundParameter>> = {},
  ): Promise<ResultTable['columns']> {
    const planned = await this.onOwnConnection(async (connection) => {
      const prepared = await connection.prepare(sql);
      try {
        // A column whose type depends on a parameter's (avg(x) * $n) is unknown (id 0) until bound.
        if (Array.from({ length: prepared.columnCount }, (_, i) => prepared.columnTypeId(i)).some((id) => id === 0))
          return undefined;
        return Array.from({ length: prepared.columnCount }, (_, i) => ({
          name: prepared.columnName(i),
          type: prepared.columnType(i).toString(),
        }));
      } finally {
        prepared.destroySync();
      }
    });
    if (planned) return planned;
    // Bound, with no row read: the same statement under LIMIT 0 (names kept from the statement's own).
    const empty = await this.query(`SELECT * FROM (${sql}) AS __cr_describe LIMIT 0`, parameters);
    return empty.columns;
  }

  /** Runs `work` on a fresh connection that close() interrupts, and closes it after. */
  private async onOwnConnection<T>(work: (connection: DuckDBConnection) => Promise<T>): Promise<T> {
    if (this.closing) throw notStarted('the room is shutting down');
    const connection = await this.instance.connect();
    this.running.add(connection);
    try {
      return await work(connection);
    } finally {
      this.running.delete(connection);
      connection.closeSync();
    }
  }

  /**
   * Atomically replaces the live table with the incoming one: readers see old or new, never half.
   * `version` is the dataset version it holds from then on (liveVersion); `afterSwap` runs before the
   * replacement counts as finished (the room's executor switches to its copy there), so tableGeneration
   * covers it too. `beforeSwap` runs first, in the load queue (after any drop or swap queued before):
   * if it throws, nothing is replaced and the incoming table stays for the caller to discard.
   */
  commitIncoming(
    shape: TableShape,
    incomingName: string,
    options: {
      readonly version?: number;
      readonly beforeSwap?: () => Promise<void>;
      readonly afterSwap?: () => Promise<void>;
    } = {},
  ): Promise<void> {
    return this.loads.run(async () => {
      await options.beforeSwap?.();
      const name = `${shape.schema}.${shape.table}`;
      const live = `${ident(shape.schema)}.${ident(shape.table)}`;
      this.beginReplacing(name);
      try {
        await this.admin.run('BEGIN TRANSACTION');
        try {
          await this.admin.run(`DROP TABLE IF EXISTS ${live}`);
          await this.admin.run(
            `ALTER TABLE ${ident(shape.schema)}.${ident(incomingName)} RENAME TO ${ident(shape.table)}`,
          );
          await this.admin.run('COMMIT');
        } catch (error) {
          // A failed COMMIT has ended the transaction already: its ROLLBACK fails, and must not hide why.
          await this.admin.run('ROLLBACK').catch(() => undefined);
          throw error;
        }
        if (!this.pendingDrops.has(name)) this.liveTables.add(name);
        if (options.version === undefined) this.liveVersions.delete(name);
        else this.liveVersions.set(name, options.version);
        await options.afterSwap?.();
      } finally {
        this.endReplacing(name);
      }
    });
  }

  /**
   * Drops a dataset's live table (deletion, retention). New queries find it not loaded from this
   * call on, before the drop itself waits its turn behind a swap in progress.
   */
  dropTable(schema: string, table: string): Promise<void> {
    const name = `${schema}.${table}`;
    this.liveTables.delete(name);
    this.liveVersions.delete(name);
    this.beginReplacing(name);
    // A swap queued ahead of this drop must not make the table readable again in between.
    this.pendingDrops.set(name, (this.pendingDrops.get(name) ?? 0) + 1);
    return this.loads
      .run(async () => {
        await this.admin.run(`DROP TABLE IF EXISTS ${ident(schema)}.${ident(table)}`);
        this.liveTables.delete(name);
        this.liveVersions.delete(name);
      })
      .finally(() => {
        this.endReplacing(name);
        const left = (this.pendingDrops.get(name) ?? 1) - 1;
        if (left > 0) this.pendingDrops.set(name, left);
        else this.pendingDrops.delete(name);
      });
  }

  discardIncoming(shape: TableShape, incomingName: string): Promise<void> {
    return this.loads.run(() =>
      this.admin.run(`DROP TABLE IF EXISTS ${ident(shape.schema)}.${ident(incomingName)}`).then(() => undefined),
    );
  }

  /**
   * A number that moves whenever a live table is replaced or dropped; NaN while that is in progress (a
   * swap, the executor's switch after it, a drop), which equals nothing. A release that reads it before
   * asking what the room knows of the table (e.g. columnIsUnique) and finds it equal after its query ran
   * read the table that answer describes: no replacement began or ended in between.
   */
  tableGeneration(schema: string, table: string): number {
    const name = `${schema}.${table}`;
    return this.replacing.has(name) ? Number.NaN : (this.generations.get(name) ?? 0);
  }

  /** The dataset version the live table holds, as its commit said (undefined when it said none). */
  liveVersion(schema: string, table: string): number | undefined {
    return this.liveVersions.get(`${schema}.${table}`);
  }

  /** A replacement or drop of a live table begins: its generation is NaN, and what was known of it goes. */
  private beginReplacing(name: string): void {
    this.replacing.set(name, (this.replacing.get(name) ?? 0) + 1);
    this.forget(name);
  }

  /** It ended (done or failed): a new generation, and nothing known of the table from before or during it. */
  private endReplacing(name: string): void {
    this.forget(name);
    const left = (this.replacing.get(name) ?? 1) - 1;
    if (left > 0) this.replacing.set(name, left);
    else this.replacing.delete(name);
  }

  private forget(name: string): void {
    this.generations.set(name, (this.generations.get(name) ?? 0) + 1);
    for (const key of this.uniqueness.keys()) if (key.startsWith(`${name}.`)) this.uniqueness.delete(key);
  }

  /** Whether a dataset's live table exists; the engine creates them only in commitIncoming, so it knows. */
  tableExists(schema: string, table: string): boolean {
    return this.liveTables.has(`${schema}.${table}`);
  }

  /** Whether a live table's column holds no repeated non-null value; computed once per table version. */
  columnIsUnique(schema: string, table: string, column: string): Promise<boolean> {
    const key = `${schema}.${table}.${column}`;
    let answer = this.uniqueness.get(key);
    if (!answer) {
      // Its own connection, so it never runs inside a load's swap transaction, and close() interrupts it
      // (the room warms it right after a commit); any doubt is "no".
      answer = this.onOwnConnection(async (connection) => {
        // Distinct hashes ≤ distinct values ≤ values: when the 64-bit hashes of the non-NULL values
        // are all different, so are the values (5x faster than DISTINCT over 64-character ids at 1M
        // rows, bench:models). Only a collision, or a real duplicate, pays for the exact count.
        const c = ident(column);
        const from = `FROM ${ident(schema)}.${ident(table)}`;
        const byHash = await connection.runAndReadAll(
          `SELECT count(${c}) = count(DISTINCT CASE WHEN ${c} IS NOT NULL THEN hash(${c}) END) ${from}`,
        );
        if (byHash.getRows()[0]?.[0] === true) return true;
        const exact = await connection.runAndReadAll(`SELECT count(${c}) = count(DISTINCT ${c}) ${from}`);
        return exact.getRows()[0]?.[0] === true;
      }).catch(() => {
        // A failure (the memory limit, a shutdown) answers "no" to this caller only: the next one asks again.
        if (this.uniqueness.get(key) === answer) this.uniqueness.delete(key);
        return false;
      });
      this.uniqueness.set(key, answer);
    }
    return answer;
  }

  /**
   * DuckDB's own parse tree of `sql` as JSON text (error:true for non-SELECT statements). Its
   * "no location" marker (2^64-1) does not survive a JavaScript number, so it travels as -1.
   */
  async serialize(sql: string): Promise<string> {
    const r = await this.parser.runAndReadAll('SELECT json_serialize_sql($1::VARCHAR)', [sql]);
    return String(r.getRows()[0]?.[0] ?? '').replaceAll(`"query_location":${NO_LOCATION}`, '"query_location":-1');
  }

  /** SQL text back from a (rewritten) parse tree. */
  async deserialize(tree: string): Promise<string> {
    const r = await this.parser.runAndReadAll('SELECT json_deserialize_sql($1::JSON)', [
      tree.replaceAll('"query_location":-1', `"query_location":${NO_LOCATION}`),
    ]);
    return String(r.getRows()[0]?.[0] ?? '');
  }

  /**
   * Runs one already-checked SELECT on a fresh connection with bound parameters, interrupting it
   * at the statement timeout. A failure never carries DuckDB's text to the caller's answer (a
   * conversion or range error quotes the value that raised it): the error says only its class, and
   * the engine's message rides along as `cause`, for the operator's log.
   */
  async query(sql: string, parameters: Readonly<Record<string, BoundParameter>> = {}): Promise<ResultTable> {
    if (this.closing) throw notStarted('the room is shutting down');
    let connection: DuckDBConnection;
    try {
      connection = await this.instance.connect();
    } catch (error) {
      throw notStarted('the engine could not open a connection', error);
    }
    this.running.add(connection);
    const timer = setTimeout(() => connection.interrupt(), this.options.statementTimeoutMs);
    try {
      const prepared = await connection.prepare(sql);
      try {
        const bound = toDuckDbParameters(parameters);
        if (Object.keys(bound.values).length > 0) prepared.bind(bound.values, bound.types);
        const result = await prepared.runAndReadAll();
        return toResultTable(result);
      } finally {
        prepared.destroySync();
      }
    } catch (error) {
      const cause = error instanceof Error ? error : new Error(String(error));
      if (this.closing)
        throw new UnavailableError('QUERY_INTERRUPTED', 'The room shut down while the query ran.', {}, { cause });
      if (/interrupt/i.test(cause.message)) {
        throw new UnavailableError(
          'QUERY_TIMEOUT',
          `The query ran past the statement timeout of ${this.options.statementTimeoutMs} ms and was stopped.`,
          {
            timeoutMs: this.options.statementTimeoutMs,
          },
          { cause },
        );
      }
      if (/memory/i.test(cause.message) && /limit|out of memory/i.test(cause.message)) {
        throw new UnavailableError(
          'QUERY_OUT_OF_MEMORY',
          `The query needs more than the room's memory limit (${this.options.memoryLimit}); spilling to disk is ` +
            `off by design.`,
          {},
          { cause },
        );
      }
      throw new UnprocessableError(
        'QUERY_RUNTIME_ERROR',
        "The query failed while it ran. The room does not pass on the engine's message, which can quote a stored " +
          "value; the operator's log has it.",
        {},
        { cause },
      );
    } finally {
      clearTimeout(timer);
      this.running.delete(connection);
      connection.closeSync();
    }
  }

  /** Stops running queries (they fail as QUERY_INTERRUPTED) and closes the engine. */
  close(): void {
    this.closing = true;
    for (const connection of this.running) connection.interrupt();
    this.admin.closeSync();
    this.parser.closeSync();
    this.instance.closeSync();
  }
}

/** The engine never ran the statement: nothing about the data can be learnt from this failure. */
function notStarted(reason: string, cause?: unknown): UnavailableError {
  return new UnavailableError('QUERY_NOT_STARTED', `The query did not start: ${reason}. Try again.`, {}, { cause });
}
