import type { Collaboration } from '../../policy/collaboration.ts';
import type { DominanceRule } from '../../policy/policy-document.ts';
import { shapeKey } from '../dp-post-processing.ts';
import type { CheckedRelease } from '../query-checker.ts';
import {
  aggregateCall,
  caseWhen,
  child,
  children,
  columnRef,
  compare,
  conjunction,
  double,
  fold,
  functionCall,
  integer,
  isNotNull,
  isNull,
  selectNode,
  subqueryRef,
  text,
  tryCast,
  type SqlNode,
} from '../sql-tree.ts';

/** What the released query's groups are keyed by, as the guarded release names them. */
export interface GroupKey {
  readonly expr: SqlNode;
  readonly name: string;
}

/** What the guarded release adds for the owners' dominance rules. */
export interface Dominance {
  /** columns computed in the grouped query itself (one person per row: no per-person step needed) */
  readonly innerColumns: readonly SqlNode[];
  /** per-person subqueries to join to the groups on their keys */
  readonly joins: readonly { readonly alias: string; readonly subquery: SqlNode }[];
  /** what every released group must meet, over the groups' columns (`groups`) and the joins */
  readonly pass: readonly SqlNode[];
}

export interface DominanceInputs {
  readonly collaboration: Collaboration;
  readonly root: SqlNode;
  readonly release: CheckedRelease;
  readonly keys: readonly GroupKey[];
  readonly aggregates: readonly SqlNode[];
  readonly minGroupSize: number;
  /** the query reads one dataset straight from a table that holds one row per person */
  readonly onePersonPerRow: boolean;
  /** the guarded release's name for its grouped subquery */
  readonly groups: string;
}

/**
 * The (n, p) dominance rule in threshold mode: for every dataset whose owner sets
 * `rules.dominance`, and every count or sum the query releases that its people contribute to, a
 * group is released only if its top n people give at most p of the total. One person with 10,000
 * rows in a group of 400 otherwise discloses their own count or sum almost exactly.
 *
 * Contributions per (group, person) come from a subquery over the same FROM and WHERE, grouped by
 * the keys and the person; per group, DuckDB's max(x, n) gives the n largest. Counts measure rows
 * (count(*)) or non-null values (count(x)); sums measure |value| of the owner's own metrics. When
 * every row is a different person, the rows are the contributions and the grouped query computes
 * them itself. DP mode needs none of this: it bounds every person's contribution instead.
 */
export function dominanceChecks(inputs: DominanceInputs): Dominance {
  const { collaboration, root, release, keys } = inputs;
  const innerColumns: SqlNode[] = [];
  const joins: { alias: string; subquery: SqlNode }[] = [];
  const pass: SqlNode[] = [];
  for (const unit of release.unitCounts) {
    if (unit.kind !== 'column') continue;
    const rule = collaboration.datasets.get(unit.dataset)?.rules.dominance;
    if (!rule) continue;
    // One row per person: a group of k rows has k people, so n of them give at most n/k of a count.
    const countsCannotDominate = inputs.onePersonPerRow && rule.topContributors / inputs.minGroupSize <= rule.maxShare;
    const measures = measuresFor(unit.dataset, inputs.aggregates, release, countsCannotDominate);
    if (measures.length === 0) continue;
    if (inputs.onePersonPerRow) {
      for (const measure of measures) sharesInGroups(rowValue(measure), rule, inputs.groups, innerColumns, pass);
      continue;
    }
    const alias = `__cr_dom_${joins.length}`;
    const perPerson = selectNode({
      select: [
        ...keys.map((k) => ({ ...k.expr, alias: k.name })),
        ...measures.map((m, i) => ({ ...m, alias: `__cr_m_${i}` })),
      ],
      from: child(root, 'from_table') as SqlNode,
      where: conjunction('CONJUNCTION_AND', [
        ...[child(root, 'where_clause')].filter((w): w is SqlNode => w !== undefined),
        isNotNull(unit.expression),
      ]),
      groups: [...keys.map((k) => ({ ...k.expr, alias: '' })), unit.expression],
      cteMap: root.cte_map,
    });
    const shares = sharesPerGroup(alias, keys, perPerson, measures.length, rule);
    joins.push(shares.join);
    pass.push(...shares.pass);
  }
  return { innerColumns, joins, pass };
}

/**
 * When each row of the grouped query is one person's contribution (`value`), the top n and the
 * total are two more columns of the groups: appends them to `columns` and the rule to `pass`.
 */
export function sharesInGroups(
  value: SqlNode,
  rule: DominanceRule,
  groups: string,
  columns: SqlNode[],
  pass: SqlNode[],
): void {
  const name = `__cr_dom_${columns.length / 2}`;
  columns.push(topOf(value, rule, `${name}_top`), aggregateCall('sum', [value], { alias: `${name}_total` }));
  pass.push(within(rule, columnRef([groups, `${name}_top`]), columnRef([groups, `${name}_total`])));
}

/**
 * From per-person contributions (`people`: the group keys by name, then `__cr_m_i` per measure),
 * the per-group subquery to join on the keys, with each measure's top n and total, and what each
 * group must meet.
 */
export function sharesPerGroup(
  alias: string,
  keys: readonly GroupKey[],
  people: SqlNode,
  measures: number,
  rule: DominanceRule,
): { join: { alias: string; subquery: SqlNode }; pass: SqlNode[] } {
  const person = (name: string) => columnRef(['__cr_people', name]);
  const indexes = Array.from({ length: measures }, (_, i) => i);
  const subquery = selectNode({
    select: [
      ...keys.map((k) => columnRef(['__cr_people', k.name], k.name)),
      ...indexes.flatMap((i) => [
        topOf(person(`__cr_m_${i}`), rule, `__cr_top_${i}`),
        aggregateCall('sum', [person(`__cr_m_${i}`)], { alias: `__cr_total_${i}` }),
      ]),
    ],
    from: subqueryRef(people, '__cr_people'),
    groups: keys.map((k) => person(k.name)),
  });
  const pass = indexes.map((i) =>
    within(rule, columnRef([alias, `__cr_top_${i}`]), columnRef([alias, `__cr_total_${i}`])),
  );
  return { join: { alias, subquery }, pass };
}

/** The sum of the n largest values in the group. */
const topOf = (value: SqlNode, rule: DominanceRule, alias: string): SqlNode =>
  functionCall('list_sum', [aggregateCall('max', [value, integer(rule.topContributors)])], alias);

/** top ≤ p × total, or no contribution at all (the dataset's people gave the group nothing to dominate). */
const within = (rule: DominanceRule, top: SqlNode, total: SqlNode): SqlNode =>
  conjunction('CONJUNCTION_OR', [
    compare(
      'COMPARE_LESSTHANOREQUALTO',
      tryCast(top, 'DOUBLE'),
      functionCall('*', [double(rule.maxShare), tryCast(total, 'DOUBLE')]),
    ),
    isNull(top),
  ]);

/**
 * The per-person contributions a dataset's people make to the released counts and sums, once each,
 * as aggregates over that person's rows (or, with one row per person, over the row itself).
 */
export function measuresFor(
  dataset: string,
  aggregates: readonly SqlNode[],
  release: CheckedRelease,
  skipCounts: boolean,
): SqlNode[] {
  const measures = new Map<string, SqlNode>();
  for (const aggregate of aggregates) {
    const name = fold(text(aggregate, 'function_name'));
    const arg = children(aggregate, 'children')[0];
    let measure: SqlNode | undefined;
    if (name === 'count_star' || (name === 'count' && arg === undefined))
      measure = skipCounts ? undefined : aggregateCall('count_star', []);
    else if (name === 'count' && aggregate.distinct !== true && arg)
      measure = skipCounts ? undefined : aggregateCall('count', [arg]);
    else if (
      (name === 'sum' || name === 'avg' || name === 'mean') &&
      aggregate.distinct !== true &&
      arg &&
      release.aggregateArguments.get(shapeKey(arg))?.has(dataset)
    ) {
      // As DOUBLE, so neither abs() of the smallest integer nor the sum can raise.
      measure = aggregateCall('sum', [functionCall('abs', [tryCast(arg, 'DOUBLE')])]);
    }
    if (measure) measures.set(shapeKey(measure), measure);
  }
  return [...measures.values()];
}

/** A per-person measure as the value of one row, when each row is its own person. */
function rowValue(measure: SqlNode): SqlNode {
  const arg = children(measure, 'children')[0];
  if (!arg) return integer(1);
  if (fold(text(measure, 'function_name')) === 'count') return caseWhen(isNotNull(arg), integer(1), '', integer(0));
  return arg;
}
