import type { SqlNode } from '../query/sql-tree.ts';
import type { BoundParameter } from '../store/bound-parameters.ts';
import type { DataEngine, TableShape } from '../store/data-engine.ts';
import type { ResultTable } from '../store/result-values.ts';

/**
 * A checked, rewritten statement as the room planned it: the tree an executor runs, and its DuckDB
 * text, which the audit hashes and a dry run shows whatever the executor.
 */
export interface CheckedStatement {
  readonly tree: SqlNode;
  readonly sql: string;
}

/**
 * What a dataset version is, for an executor that keeps copies across restarts: the committed
 * envelope's SHA-256 and the rows it holds. A version number alone is not enough (a room whose state
 * was restored from a backup can number another upload alike).
 */
export interface VersionIdentity {
  readonly envelopeSha256: string;
  readonly rows: number;
}

/**
 * Where threshold and DP releases execute (issue #15). The room plans once (parse, check, rewrite);
 * the executor runs the planned tree and holds a copy of each loaded dataset version where it reads
 * it. Loading goes through the embedded engine first (authenticated envelope → DuckDB incoming table),
 * then `stage` copies that version before the room commits it (or keeps a copy made before that is
 * exactly this version: same envelope, same columns, every row), `commit` makes it the one queries
 * read, `discard` drops a version that will not be (or is no longer) committed, and `drop` removes every version
 * (deletion, retention).
 */
export interface QueryExecutor {
  readonly name: 'duckdb' | 'clickhouse';
  run(statement: CheckedStatement, parameters: Readonly<Record<string, BoundParameter>>): Promise<ResultTable>;
  stage(shape: TableShape, incomingName: string, version: number, identity: VersionIdentity): Promise<void>;
  /**
   * Makes `version` the one queries read and answers the version it replaced (if any): the caller
   * discards that copy once the switch is over (the room switches inside the engine's swap, where a
   * slow drop would hold every load up).
   */
  commit(shape: TableShape, version: number): Promise<number | undefined>;
  discard(shape: TableShape, version: number): Promise<void>;
  drop(schema: string, table: string): Promise<void>;
  /**
   * Drops every copy that is not a committed version's (a drop that failed after a deletion, a
   * replaced version, a dataset no longer in any policy): called once the room has reloaded, and by
   * the hourly sweep. Answers what it dropped.
   */
  reconcile(): Promise<string[]>;
  close(): Promise<void>;
}

/** The embedded default: DuckDB runs the rendered text; its own tables are the only copy. */
export const embeddedExecutor = (engine: DataEngine): QueryExecutor => ({
  name: 'duckdb',
  run: (statement, parameters) => engine.query(statement.sql, parameters),
  stage: async () => undefined,
  commit: async () => undefined,
  discard: async () => undefined,
  drop: async () => undefined,
  reconcile: async () => [],
  close: async () => undefined,
});
