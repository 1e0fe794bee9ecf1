import type { RewriteEdit } from '../rewrite-edits.ts';
import { editsByNode } from './edits-by-node.ts';
import type { NodeRewrite } from './tree-walker.ts';

/** An unaliased FROM-subquery gets the reserved name the checker used to count its people. */
export function aliasSubqueries(edits: readonly RewriteEdit[]): NodeRewrite {
  const tables = editsByNode(edits, 'alias-subquery', (e) => e.table);
  return {
    visit: (original, copy) => {
      const edit = tables.get(original)?.[0];
      return edit ? { ...copy, alias: edit.alias } : copy;
    },
  };
}
