import type { RewriteEdit } from '../rewrite-edits.ts';
import { editsByNode } from './edits-by-node.ts';
import type { NodeRewrite } from './tree-walker.ts';

/** Every dataset read in FROM names the collaboration's schema, under the alias the checker resolved. */
export function qualifyDatasets(edits: readonly RewriteEdit[]): NodeRewrite {
  const tables = editsByNode(edits, 'qualify-table', (e) => e.table);
  return {
    visit: (original, copy) => {
      const edit = tables.get(original)?.[0];
      return edit ? { ...copy, schema_name: edit.schema, alias: edit.alias } : copy;
    },
  };
}
