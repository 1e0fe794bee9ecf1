import { containsAggregate, shapeKey } from './dp-post-processing.ts';
import { children, fold, integerConstant, text, type SqlNode } from './sql-tree.ts';

/** The grouping of a released query: each GROUP BY expression, and which select item shows it. */
export interface Grouping {
  readonly groups: readonly SqlNode[];
  /** select item index → group index, for items that are a grouping expression */
  readonly groupOfItem: ReadonlyMap<number, number>;
}

/**
 * Resolves GROUP BY the way DuckDB reads it: GROUP BY ALL (every select item without an
 * aggregate), positions (GROUP BY 1), select aliases (GROUP BY c for `country AS c`), or the same
 * expression written again. The rewriters move grouping into an inner query where the select
 * list's aliases and positions no longer exist, so they need the expressions themselves.
 */
export function resolveGrouping(root: SqlNode): Grouping {
  const select = children(root, 'select_list');
  const groupOfItem = new Map<number, number>();
  if (root.aggregate_handling === 'FORCE_AGGREGATES') {
    const groups: SqlNode[] = [];
    select.forEach((item, i) => {
      if (!containsAggregate(item)) groupOfItem.set(i, groups.push(item) - 1);
    });
    return { groups, groupOfItem };
  }
  const groups = children(root, 'group_expressions').map((g, gi) => {
    // Only an integer constant is a position: GROUP BY 1.0 groups by the constant, as DuckDB does.
    const position = integerConstant(g);
    const names = g.class === 'COLUMN_REF' ? (g.column_names as string[]) : [];
    const aliasIndex =
      names.length === 1 ? select.findIndex((item) => fold(text(item, 'alias')) === fold(names[0] as string)) : -1;
    const itemIndex = position !== undefined ? position - 1 : aliasIndex;
    if (itemIndex >= 0 && select[itemIndex]) {
      groupOfItem.set(itemIndex, gi);
      return select[itemIndex] as SqlNode;
    }
    const same = select.findIndex(
      (item) => !containsAggregate(item) && shapeKey({ ...item, alias: '' }) === shapeKey({ ...g, alias: '' }),
    );
    if (same >= 0) groupOfItem.set(same, gi);
    return g;
  });
  return { groups, groupOfItem };
}
