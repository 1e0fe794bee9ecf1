import type { SqlNode } from './sql-tree.ts';

/**
 * Tree edits the checker asks for, applied by the rewriter to its own copy of the tree. Each is a
 * small, local change; none adds a way for data to leave.
 */
export type RewriteEdit =
  /** point a dataset reference at the collaboration's schema */
  | { readonly kind: 'qualify-table'; readonly table: SqlNode; readonly schema: string; readonly alias: string }
  /**
   * add a privacy unit (a unit column, or a semi-join's matched values) to a view's output so the released query can
   * count people
   */
  | { readonly kind: 'project-unit'; readonly view: SqlNode; readonly expression: SqlNode; readonly alias: string }
  /** name an unaliased subquery so its columns can be referred to */
  | { readonly kind: 'alias-subquery'; readonly table: SqlNode; readonly alias: string }
  /** CAST → TRY_CAST: a cast that fails yields NULL instead of an error that would reveal the row */
  | { readonly kind: 'try-cast'; readonly node: SqlNode }
  /** an aggregate inside an expression becomes DOUBLE, whose arithmetic and comparisons never raise */
  | { readonly kind: 'double-aggregate'; readonly node: SqlNode }
  /** a quoted literal meeting a typed value becomes TRY_CAST(literal AS type): never an implicit cast that can fail */
  | { readonly kind: 'cast-literal'; readonly node: SqlNode; readonly type: string }
  /**
   * an argument cast to the type it already has, written down for an executor without DuckDB's types
   * (the ClickHouse emitter reads it): median's to the type of its answer (DOUBLE for numbers,
   * TIMESTAMP for dates and times, VARCHAR for text; DuckDB converts so itself before it interpolates),
   * round's integer to BIGINT (DuckDB rounds integers as integers). DuckDB answers the same either way.
   */
  | {
      readonly kind: 'typed-argument';
      readonly node: SqlNode;
      readonly type: 'DOUBLE' | 'TIMESTAMP' | 'VARCHAR' | 'BIGINT';
    };
