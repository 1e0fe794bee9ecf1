import type { SqlNode } from './sql-tree.ts';

/**
 * Tree edits the checker asks for, applied by the rewriter to its own copy of the tree. Each is a
 * small, local change; none adds a way for data to leave.
 */
export type RewriteEdit =
  /** point a dataset reference at the collaboration's schema */
  | { readonly kind: 'qualify-table'; readonly table: SqlNode; readonly schema: string; readonly alias: string }
  /** add a dataset's privacy unit to a view's output so the released query can count people */
  | { readonly kind: 'project-unit'; readonly view: SqlNode; readonly ref: readonly string[]; readonly alias: string };
