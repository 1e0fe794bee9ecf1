import type { RewriteEdit } from '../rewrite-edits.ts';
import type { SqlNode } from '../sql-tree.ts';

type EditOf<K extends RewriteEdit['kind']> = Extract<RewriteEdit, { kind: K }>;

/** The checker's edits of one kind, by the original node they apply to. */
export function editsByNode<K extends RewriteEdit['kind']>(
  edits: readonly RewriteEdit[],
  kind: K,
  key: (edit: EditOf<K>) => SqlNode,
): Map<SqlNode, EditOf<K>[]> {
  const byNode = new Map<SqlNode, EditOf<K>[]>();
  for (const edit of edits) {
    if (edit.kind !== kind) continue;
    const typed = edit as EditOf<K>;
    byNode.set(key(typed), [...(byNode.get(key(typed)) ?? []), typed]);
  }
  return byNode;
}
