import { shapeKey } from '../dp-post-processing.ts';
import type { CheckedRelease } from '../query-checker.ts';
import { STAR, child, columnRef, selectNode, subqueryRef, text, type SqlNode } from '../sql-tree.ts';

/**
 * Each semi-join the threshold counts appears twice: in the analyst's query (`CASE WHEN c.x IN
 * (SELECT …)` as a group key, or in WHERE) and in the count of its matched people, and DuckDB plans
 * each copy as its own join. With one table in FROM, this evaluates every such membership once per
 * row: the table becomes `(SELECT *, <membership> AS __cr_in_i FROM t AS c) AS c`, and every copy of
 * the membership, in the query and in the unit counts, reads `c.__cr_in_i`. Same rows, same values
 * (NULL included); one join instead of two. Returns the inputs unchanged otherwise.
 */
export function shareMemberships(
  root: SqlNode,
  release: CheckedRelease,
): { readonly root: SqlNode; readonly release: CheckedRelease } {
  const from = child(root, 'from_table');
  const semiJoins = release.unitCounts.filter((u) => u.kind === 'semi-join');
  if (from?.type !== 'BASE_TABLE' || semiJoins.length === 0) return { root, release };
  const alias = text(from, 'alias') || text(from, 'table_name');
  const memberships = new Map<string, { node: SqlNode; name: string }>();
  for (const unit of semiJoins) {
    const membership = unit.semiJoin?.membership;
    if (!membership) continue;
    const key = shapeKey(membership);
    if (!memberships.has(key)) memberships.set(key, { node: membership, name: `__cr_in_${memberships.size}` });
  }
  if (memberships.size === 0) return { root, release };
  const substitute = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(substitute);
    if (typeof value !== 'object' || value === null) return value;
    const node = value as SqlNode;
    if ('class' in node) {
      const found = memberships.get(shapeKey(node));
      if (found) return columnRef([alias, found.name], text(node, 'alias'));
    }
    return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, substitute(v)]));
  };
  const rows = selectNode({
    select: [STAR, ...[...memberships.values()].map((m) => ({ ...m.node, alias: m.name }))],
    from: { ...from, alias },
  });
  const rewritten = substitute({ ...root, from_table: null }) as SqlNode;
  return {
    root: { ...rewritten, from_table: subqueryRef(rows, alias) },
    release: {
      ...release,
      unitCounts: release.unitCounts.map((u) => ({
        ...u,
        expression: substitute(u.expression) as SqlNode,
        ...(u.semiJoin && { semiJoin: { ...u.semiJoin, membership: substitute(u.semiJoin.membership) as SqlNode } }),
      })),
    },
  };
}
