import type { RewriteEdit } from '../rewrite-edits.ts';
import { editsByNode } from './edits-by-node.ts';
import type { NodeRewrite } from './tree-walker.ts';

/** CAST → TRY_CAST: a cast that fails yields NULL instead of an error that would reveal the row. */
export function tryCasts(edits: readonly RewriteEdit[]): NodeRewrite {
  const casts = editsByNode(edits, 'try-cast', (e) => e.node);
  return { visit: (original, copy) => (casts.has(original) ? { ...copy, try_cast: true } : copy) };
}
