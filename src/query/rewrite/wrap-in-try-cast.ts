import type { RewriteEdit } from '../rewrite-edits.ts';
import { castTo, tryCast, type SqlNode } from '../sql-tree.ts';
import { editsByNode } from './edits-by-node.ts';
import type { NodeRewrite } from './tree-walker.ts';

/** TRY_CAST(node AS type), keeping the node's alias on the cast. */
const wrap = (node: SqlNode, type: string): SqlNode =>
  tryCast({ ...node, alias: '' }, type, typeof node.alias === 'string' ? node.alias : '');

/**
 * A quoted literal that meets a typed value becomes TRY_CAST('…' AS type): DuckDB leaves a literal
 * it cannot convert to run time, where failing only on rows that reach it would be an oracle.
 */
export function castLiterals(edits: readonly RewriteEdit[]): NodeRewrite {
  const literals = editsByNode(edits, 'cast-literal', (e) => e.node);
  return {
    visit: (original, copy) => {
      const edit = literals.get(original)?.[0];
      return edit ? wrap(copy, edit.type) : copy;
    },
  };
}

/** An aggregate used inside an expression is computed as DOUBLE, whose arithmetic and comparisons never raise. */
export function doubleAggregates(edits: readonly RewriteEdit[]): NodeRewrite {
  const aggregates = editsByNode(edits, 'double-aggregate', (e) => e.node);
  return { visit: (original, copy) => (aggregates.has(original) ? wrap(copy, 'DOUBLE') : copy) };
}

/** median(x) → median(CAST(x AS DOUBLE | …)), round(i, d) → round(CAST(i AS BIGINT), d): types written down. */
export function typedArguments(edits: readonly RewriteEdit[]): NodeRewrite {
  const argumentsOf = editsByNode(edits, 'typed-argument', (e) => e.node);
  return {
    visit: (original, copy) => {
      const edit = argumentsOf.get(original)?.[0];
      return edit ? castTo({ ...copy, alias: '' }, edit.type) : copy;
    },
  };
}
