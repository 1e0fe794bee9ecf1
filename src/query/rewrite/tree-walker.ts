import type { SqlNode } from '../sql-tree.ts';

/**
 * One rewrite of the parse tree. `visit` sees each object of the original tree bottom-up, with its
 * copy (children already rewritten), and returns the node to use instead: the copy itself, or a
 * new object. It never changes either; `walk` rewrites any other original subtree it wants to
 * place (a view's projected unit reuses the IN (SELECT …) of its WHERE).
 */
export interface NodeRewrite {
  visit(original: SqlNode, copy: SqlNode, walk: (node: SqlNode) => SqlNode): SqlNode;
}

/** A rewritten tree, and the same rewriting for other subtrees of the original. */
export interface RewrittenTree {
  readonly tree: SqlNode;
  /** the rewritten copy of an original subtree (shared subtrees map to one copy) */
  rewrite(node: SqlNode): SqlNode;
}

/**
 * Copy-on-write rewriting, as Kysely's OperationNodeTransformer: the original tree is never
 * touched, every rewrite returns new objects, and the result is deeply frozen, so a rewrite can
 * never be lost by editing the wrong copy. Edits keyed by original nodes (what the checker decided
 * about them) stay valid because every rewrite sees the originals. A subtree reached twice (a shared
 * node) is rewritten once and stays shared.
 */
export function rewriteTree(root: SqlNode, rewrites: readonly NodeRewrite[]): RewrittenTree {
  const done = new Map<object, unknown>();
  const walk = (value: unknown): unknown => {
    if (typeof value !== 'object' || value === null) return value;
    const seen = done.get(value);
    if (seen !== undefined) return seen;
    let result: unknown;
    if (Array.isArray(value)) {
      result = value.map(walk);
    } else {
      let node = Object.fromEntries(Object.entries(value).map(([key, item]) => [key, walk(item)])) as SqlNode;
      for (const rewrite of rewrites) node = rewrite.visit(value as SqlNode, node, walkNode);
      result = node;
    }
    deepFreeze(result);
    done.set(value, result);
    return result;
  };
  const walkNode = (node: SqlNode): SqlNode => walk(node) as SqlNode;
  return { tree: walkNode(root), rewrite: walkNode };
}

/** Freezes a value and everything under it that is not frozen yet. */
export function deepFreeze<T>(value: T): T {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return value;
  Object.freeze(value);
  for (const item of Object.values(value)) deepFreeze(item);
  return value;
}
