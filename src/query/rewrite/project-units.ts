import type { RewriteEdit } from '../rewrite-edits.ts';
import type { SqlNode } from '../sql-tree.ts';
import { editsByNode } from './edits-by-node.ts';
import type { NodeRewrite } from './tree-walker.ts';

/**
 * A view gains the privacy units the analyst did not select (a unit column, or a semi-join's
 * matched values) under reserved names, so the released query can count each dataset's people.
 * The projected expressions are parts of the original tree, rewritten like the rest.
 */
export function projectUnits(edits: readonly RewriteEdit[]): NodeRewrite {
  const views = editsByNode(edits, 'project-unit', (e) => e.view);
  return {
    visit: (original, copy, walk) => {
      const projections = views.get(original);
      if (!projections) return copy;
      const added = projections.map((p) => ({ ...walk(p.expression), alias: p.alias }));
      return { ...copy, select_list: [...(copy.select_list as SqlNode[]), ...added] };
    },
  };
}
