import type { SqlNode } from './sql-tree.ts';

/**
 * Tree edits the checker asks for, applied by the rewriter to its own copy of the tree. Each is a
 * small, local change; none adds a way for data to leave.
 */
export type RewriteEdit =
  /** point a dataset reference at the collaboration's schema */
  | { readonly kind: 'qualify-table'; readonly table: SqlNode; readonly schema: string; readonly alias: string }
  /** add a dataset's privacy unit to a view's output so the released query can count people */
  | { readonly kind: 'project-unit'; readonly view: SqlNode; readonly ref: readonly string[]; readonly alias: string }
  /** name an unaliased subquery so its columns can be referred to */
  | { readonly kind: 'alias-subquery'; readonly table: SqlNode; readonly alias: string }
  /** CAST → TRY_CAST: a cast that fails yields NULL instead of an error that would reveal the row */
  | { readonly kind: 'try-cast'; readonly node: SqlNode }
  /** an aggregate inside arithmetic becomes DOUBLE, whose arithmetic never raises (no overflow oracle) */
  | { readonly kind: 'double-aggregate'; readonly node: SqlNode };
