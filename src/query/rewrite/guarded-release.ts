import type { CheckedRelease } from '../query-checker.ts';
import { isAggregateCall, shapeKey } from '../dp-post-processing.ts';
import { resolveGrouping } from '../grouping.ts';
import type { Collaboration } from '../../policy/collaboration.ts';
import { dominanceChecks } from './dominance.ts';
import { perPersonGroups } from './per-person-groups.ts';
import { shareMemberships } from './shared-memberships.ts';
import {
  FALSE_CONSTANT,
  aggregateCall,
  caseWhen,
  child,
  children,
  columnRef,
  compare,
  conjunction,
  cteMap,
  fold,
  integer,
  joinRef,
  not,
  subqueryRef,
  text,
  type SqlNode,
} from '../sql-tree.ts';

export const GROUPS_ALIAS = '__cr_groups';
export const PASS_COLUMN = '__cr_pass';

type Mutable = Record<string, unknown>;

const groupsColumn = (name: string, alias = '') => columnRef([GROUPS_ALIAS, name], alias);
const guarded = caseWhen;

function outputName(item: SqlNode, i: number): string {
  if (text(item, 'alias')) return text(item, 'alias');
  if (item.class === 'COLUMN_REF') return String((item.column_names as string[]).at(-1));
  if (isAggregateCall(item)) return fold(text(item, 'function_name')).replace('count_star', 'count');
  return `col${i}`;
}

/**
 * Splits the released query in two so that nothing the analyst wrote is ever evaluated on a group
 * the threshold hides: the inner query computes only grouping keys, bare aggregates and each
 * dataset's count of distinct people; the outer query evaluates the select list, HAVING and ORDER
 * BY over those columns, each guarded by CASE WHEN __cr_pass. (Otherwise an expression that can fail,
 * e.g. in a CASE over sum(x), would make the error itself an oracle on a one-person group.)
 * Returns the new root; LIMIT is dropped here and applied to released groups by the room.
 */
export function guardRelease(
  collaboration: Collaboration,
  parsed: SqlNode,
  checked: CheckedRelease,
  minGroupSize: number,
  uniqueUnits: ReadonlySet<string>,
): SqlNode {
  // With one dataset read straight from its table (no join, no view) and one row per person, every
  // row of a group is a different person: count(unit) is exactly count(DISTINCT unit), and cheaper.
  // Semi-joins (IN, EXISTS) filter rows without repeating them, so they keep this true; their count
  // of matched people is over the probe, and a probe that is that unique unit is one person per row too.
  const rootFrom = child(parsed, 'from_table');
  const columnUnits = checked.unitCounts.filter((u) => u.kind === 'column');
  const base =
    columnUnits.length === 1 && rootFrom?.type === 'BASE_TABLE' && text(rootFrom, 'schema_name') !== ''
      ? columnUnits[0]
      : undefined;
  const onePersonPerRow = base !== undefined && uniqueUnits.has(base.dataset);
  // An empty guard would release every group; the checker refuses such a query, so this is a bug.
  if (checked.unitCounts.length === 0) throw new Error('guardRelease: a release with no privacy unit to count');
  const baseUnit = base && shapeKey({ ...base.expression, alias: '' });
  const rowIsPerson = (u: (typeof checked.unitCounts)[number]): boolean => {
    if (!onePersonPerRow) return false;
    if (u.kind === 'column') return true;
    return u.semiJoin !== undefined && shapeKey({ ...u.semiJoin.probe, alias: '' }) === baseUnit;
  };
  const distinctUnits = checked.unitCounts.map((u) => !rowIsPerson(u));
  const { root, release } = shareMemberships(parsed, checked);

  const select = children(root, 'select_list');
  const orders = children(root, 'modifiers')
    .filter((m) => m.type === 'ORDER_MODIFIER')
    .flatMap((m) => children(m, 'orders'));
  const having = child(root, 'having');

  const keys = resolveGrouping(root).groups.map((expr, i) => ({
    expr,
    key: shapeKey({ ...expr, alias: '' }),
    name: `__cr_key_${i}`,
  }));
  const aggregates: { node: SqlNode; key: string; name: string }[] = [];
  const collect = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(collect);
    else if (typeof node === 'object' && node !== null) {
      if (isAggregateCall(node as SqlNode)) {
        const key = shapeKey({ ...(node as SqlNode), alias: '' });
        if (!aggregates.some((a) => a.key === key))
          aggregates.push({ node: node as SqlNode, key, name: `__cr_agg_${aggregates.length}` });
      } else Object.values(node).forEach(collect);
    }
  };
  collect([select, having, orders.map((o) => child(o, 'expression'))]);

  // Replaces aggregates and grouping expressions, anywhere in a tree, by the inner query's columns.
  const bareKeys = keys.filter((k) => k.expr.class === 'COLUMN_REF');
  const substitute = (node: SqlNode): SqlNode | undefined => {
    const key = shapeKey({ ...node, alias: '' });
    const found = aggregates.find((a) => a.key === key) ?? keys.find((k) => k.key === key);
    if (found) return groupsColumn(found.name, text(node, 'alias'));
    if (node.class !== 'COLUMN_REF') return undefined;
    const last = fold(String((node.column_names as string[]).at(-1)));
    const matches = bareKeys.filter((k) => fold(String((k.expr.column_names as string[]).at(-1))) === last);
    return matches.length === 1 ? groupsColumn((matches[0] as { name: string }).name, text(node, 'alias')) : node;
  };
  const rewrite = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(rewrite);
    if (typeof value !== 'object' || value === null) return value;
    const replaced = 'class' in value ? substitute(value as SqlNode) : undefined;
    return replaced ?? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, rewrite(v)]));
  };
  const replace = (node: SqlNode): SqlNode => rewrite(node) as SqlNode;

  const units = release.unitCounts.map((u, i) => ({
    node: aggregateCall('count', [u.expression], { distinct: distinctUnits[i], alias: `__cr_units_${i}` }),
    name: `__cr_units_${i}`,
  }));
  const inner: Mutable = {
    ...root,
    modifiers: [],
    having: null,
    select_list: [
      ...keys.map((k) => ({ ...k.expr, alias: k.name })),
      ...aggregates.map((a) => ({ ...a.node, alias: a.name })),
      ...units.map((u) => u.node),
    ],
    group_expressions:
      root.aggregate_handling === 'FORCE_AGGREGATES' ? [] : keys.map((k) => ({ ...k.expr, alias: '' })),
  };

  // A group is released when it has at least k people of some dataset, and k of every dataset that
  // contributes at all, and no owner's dominance rule finds a few people giving most of a count or sum.
  const unit = (name: string) => groupsColumn(name);
  const dominanceInputs = {
    collaboration,
    root,
    release,
    keys,
    aggregates: aggregates.map((a) => a.node),
    minGroupSize,
    groups: GROUPS_ALIAS,
    onePersonPerRow,
  };
  // Per-person contributions from one pass over the rows where the aggregates allow it, else a second pass.
  const perPerson = onePersonPerRow
    ? undefined
    : perPersonGroups({ ...dominanceInputs, named: aggregates, unitNames: units.map((u) => u.name) });
  const dominance = perPerson ?? dominanceChecks(dominanceInputs);
  const pass = conjunction('CONJUNCTION_AND', [
    ...units.map((u) =>
      conjunction('CONJUNCTION_OR', [
        compare('COMPARE_GREATERTHANOREQUALTO', unit(u.name), integer(minGroupSize)),
        compare('COMPARE_EQUAL', unit(u.name), integer(0)),
      ]),
    ),
    conjunction(
      'CONJUNCTION_OR',
      units.map((u) => compare('COMPARE_GREATERTHANOREQUALTO', unit(u.name), integer(minGroupSize))),
    ),
    ...dominance.pass,
  ]);
  const groups = subqueryRef(
    perPerson?.groups ?? { ...inner, select_list: [...(inner.select_list as SqlNode[]), ...dominance.innerColumns] },
    GROUPS_ALIAS,
  );
  const sameGroup = (alias: string) =>
    conjunction(
      'CONJUNCTION_AND',
      keys.map((k) => compare('COMPARE_NOT_DISTINCT_FROM', groupsColumn(k.name), columnRef([alias, k.name]))),
    );
  const from = dominance.joins.reduce(
    (left, d) => joinRef(left, subqueryRef(d.subquery, d.alias), sameGroup(d.alias), 'LEFT'),
    groups,
  );
  const outputNames = new Set(select.map((item, i) => fold(outputName(item, i))));
  const orderModifier =
    orders.length === 0
      ? []
      : [
          {
            type: 'ORDER_MODIFIER',
            orders: orders.map((o) => {
              const expression = child(o, 'expression') as SqlNode;
              const names = expression.class === 'COLUMN_REF' ? (expression.column_names as string[]) : [];
              const refersToOutput =
                (names.length === 1 && outputNames.has(fold(names[0] as string))) || expression.class === 'CONSTANT';
              return { ...o, expression: refersToOutput ? expression : guarded(pass, replace(expression)) };
            }),
          },
        ];
  return {
    type: 'SELECT_NODE',
    modifiers: orderModifier,
    cte_map: perPerson?.cte ? cteMap([perPerson.cte], true) : { map: [] },
    select_list: [
      ...select.map((item, i) => guarded(pass, { ...replace(item), alias: '' }, outputName(item, i))),
      { ...pass, alias: PASS_COLUMN },
    ],
    from_table: from,
    where_clause: having
      ? conjunction('CONJUNCTION_OR', [not(pass), guarded(pass, replace(having), '', FALSE_CONSTANT)])
      : null,
    group_expressions: [],
    group_sets: [],
    aggregate_handling: 'STANDARD_HANDLING',
    having: null,
    sample: null,
    qualify: null,
  };
}
