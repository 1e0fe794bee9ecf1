import type { RewriteEdit } from '../rewrite-edits.ts';
import type { SqlNode } from '../sql-tree.ts';
import { aliasSubqueries } from './alias-subqueries.ts';
import { projectUnits } from './project-units.ts';
import { qualifyDatasets } from './qualify-datasets.ts';
import { rewriteTree, type RewrittenTree } from './tree-walker.ts';
import { tryCasts } from './try-casts.ts';
import { castLiterals, doubleAggregates, typedArguments } from './wrap-in-try-cast.ts';

/** The rewrites the checker asked for, applied to a copy of the parsed tree in one walk. */
export function applyCheckedRewrites(tree: SqlNode, edits: readonly RewriteEdit[]): RewrittenTree {
  return rewriteTree(tree, [
    qualifyDatasets(edits),
    aliasSubqueries(edits),
    projectUnits(edits),
    tryCasts(edits),
    castLiterals(edits),
    doubleAggregates(edits),
    typedArguments(edits),
  ]);
}
