import type { Dataset } from '../policy/collaboration.ts';
import type { PerPersonFeature } from '../policy/policy-document.ts';
import {
  aggregateCall,
  castTo,
  coalesce,
  columnRef,
  compare,
  double,
  joinRef,
  selectNode,
  subqueryRef,
  tableRef,
  tryCast,
  type SqlNode,
} from '../query/sql-tree.ts';

/** One joined dataset of a feature view and the per-person features it lends (from its owner's rules). */
export interface JoinedFeatures {
  readonly dataset: Dataset;
  readonly features: readonly { readonly name: string; readonly rule: PerPersonFeature }[];
}

/**
 * A model's feature view, built by the room (never from caller SQL): one row per person of the base
 * dataset (verified before training), its `columns`, and for each joined dataset its per-person
 * aggregates, grouped by that dataset's privacy unit and LEFT JOINed on the two units, so every
 * person is still one row and one joined person moves one row. A person with no joined rows has a
 * count and a sum of 0, and no average, minimum or maximum (the row is then incomplete and left out).
 * `where` (over the base row's privacy unit) picks the training or the holdout side. Answers the
 * view as a subquery `__cr_x` whose columns are the base columns and the joined features by name.
 */
export function featureView(
  schema: string,
  base: Dataset,
  columns: readonly string[],
  joined: readonly JoinedFeatures[],
  where: (unit: SqlNode) => SqlNode,
): SqlNode {
  const baseRef = (column: string) => columnRef(['__cr_b', column]);
  let from: SqlNode = { ...tableRef(base.name, '__cr_b'), schema_name: schema };
  const select: SqlNode[] = columns.map((c) => ({ ...baseRef(c), alias: c }));
  const typeOf = (d: Dataset) => d.columns.find((c) => c.name === d.rules.privacyUnit)?.type;
  joined.forEach(({ dataset, features }, i) => {
    const alias = `__cr_j${i}`;
    // Grouped in the base unit's own type, so one base person matches at most one group. The policy
    // check refuses joins of units of different types; were they to differ, the engine would convert
    // one side to compare, and '7', '07' and ' 7' (three groups of a VARCHAR unit) would all match
    // one BIGINT person, repeating their row once per spelling.
    const raw = columnRef(['__cr_r', dataset.rules.privacyUnit]);
    const baseType = typeOf(base);
    const unit = baseType && typeOf(dataset) !== baseType ? tryCast(raw, baseType) : raw;
    const perPerson = selectNode({
      select: [
        { ...unit, alias: '__cr_u' },
        ...features.map(({ name, rule }) => ({
          ...(rule.aggregate === 'count'
            ? aggregateCall('count_star', [])
            : aggregateCall(rule.aggregate, [castTo(columnRef(['__cr_r', rule.column ?? '']), 'DOUBLE')])),
          alias: name,
        })),
      ],
      from: { ...tableRef(dataset.name, '__cr_r'), schema_name: schema },
      groups: [unit],
    });
    from = joinRef(
      from,
      subqueryRef(perPerson, alias),
      compare('COMPARE_EQUAL', baseRef(base.rules.privacyUnit), columnRef([alias, '__cr_u'])),
      'LEFT',
    );
    for (const { name, rule } of features) {
      const value = columnRef([alias, name]);
      const absent = rule.aggregate === 'count' || rule.aggregate === 'sum';
      select.push({ ...(absent ? coalesce([value, double(0)]) : value), alias: name });
    }
  });
  return subqueryRef(selectNode({ select, from, where: where(baseRef(base.rules.privacyUnit)) }), '__cr_x');
}
