import type { DominanceRule } from '../../policy/policy-document.ts';
import { shapeKey } from '../dp-post-processing.ts';
import {
  aggregateCall,
  caseWhen,
  child,
  children,
  coalesce,
  columnRef,
  fold,
  functionCall,
  integer,
  isNotNull,
  selectNode,
  subqueryRef,
  tableRef,
  text,
  tryCast,
  type SqlNode,
} from '../sql-tree.ts';
import { measuresFor, sharesInGroups, sharesPerGroup, type Dominance, type DominanceInputs } from './dominance.ts';

/** The name of the per-person rows when the grouped query and the dominance joins share them. */
export const ROWS_CTE = '__cr_rows';

export interface PerPersonInputs extends DominanceInputs {
  /** the released aggregates, each under the column name the guarded release reads it by */
  readonly named: readonly { readonly node: SqlNode; readonly name: string }[];
  /** the group-size counts, by the column names the guarded release reads */
  readonly unitNames: readonly string[];
}

/** The grouped query rebuilt over per-person rows, with what the dominance rules need. */
export interface PerPersonGroups extends Dominance {
  /** replaces the guarded release's grouped query: the same columns, computed from the per-person rows */
  readonly groups: SqlNode;
  /** the per-person rows, as a CTE of the released query, when more than one query reads them */
  readonly cte?: readonly [string, SqlNode];
}

/** How one released aggregate is computed from per-row partial aggregates. */
interface Decomposed {
  readonly partials: readonly SqlNode[];
  readonly combine: (partial: (node: SqlNode) => SqlNode) => SqlNode;
}

/**
 * The dominance rule needs each person's contribution to every group, and the threshold needs
 * each group's number of distinct people; both are a GROUP BY over (group, person). Instead of
 * running the query's FROM and WHERE twice (once grouped by the keys, once by keys and person, as
 * `dominanceChecks` does), this rewrite runs them once: the rows are first aggregated per group
 * keys, privacy units and count(DISTINCT …) arguments, with partial aggregates (count, sum, min,
 * max; avg as sum and count), and every released value is recombined from those partials. When the
 * per-person rows carry one unit and nothing else, the dominance measures come from the same pass;
 * otherwise the per-person rows become a materialized CTE that the groups and each dataset's
 * dominance join read.
 *
 * Returns undefined when some aggregate does not decompose exactly (median, stddev, variance, or a
 * sum or average of a non-numeric column), or when no dominance rule needs per-person measures:
 * the caller then keeps the two-pass form.
 */
export function perPersonGroups(inputs: PerPersonInputs): PerPersonGroups | undefined {
  const { collaboration, root, release, keys } = inputs;
  const normalise = qualifier(root);
  // Compared with bare columns qualified, emitted as written.
  const keyOf = (node: SqlNode) => shapeKey(normalise({ ...node, alias: '' }));
  const indexIn = (list: SqlNode[], node: SqlNode): number => {
    const key = keyOf(node);
    const found = list.findIndex((l) => keyOf(l) === key);
    return found >= 0 ? found : list.push({ ...node, alias: '' }) - 1;
  };
  const levels: SqlNode[] = [];
  const levelOf = (expr: SqlNode): number => indexIn(levels, expr);
  const partials: SqlNode[] = [];
  const partialOf = (node: SqlNode): number => indexIn(partials, node);
  const rows = (name: string) => columnRef([ROWS_CTE, name]);
  const level = (i: number) => rows(`__cr_level_${i}`);
  const partial = (node: SqlNode) => rows(`__cr_part_${partialOf(node)}`);

  // Units first: the per-person rows are keyed by them. A semi-join's count is over its probe where
  // it matched (CASE WHEN probe IN (…) THEN probe END): when the probe is already a key, that is one
  // more column of the per-person rows (whether the person matched), not one more key.
  const dependent = new Set<number>();
  const columnsFirst = [...release.unitCounts.keys()].sort(
    (a, b) => Number(release.unitCounts[a]?.kind !== 'column') - Number(release.unitCounts[b]?.kind !== 'column'),
  );
  const unitLevels: number[] = [];
  for (const i of columnsFirst) {
    const unit = release.unitCounts[i] as (typeof release.unitCounts)[number];
    const probe = unit.semiJoin?.probe;
    const keyed = probe !== undefined && levels.some((l) => keyOf(l) === keyOf(probe));
    const lv = levelOf(unit.expression);
    if (keyed) dependent.add(lv);
    unitLevels[i] = lv;
  }
  const aggregates: { name: string; value: () => SqlNode }[] = [];
  for (const { node, name } of inputs.named) {
    const decomposed = decompose(node, release.summableArguments);
    if (decomposed === undefined) return undefined;
    if (decomposed === 'distinct') {
      const lv = levelOf(children(node, 'children')[0] as SqlNode);
      aggregates.push({ name, value: () => aggregateCall('count', [level(lv)], { distinct: !onePass }) });
      continue;
    }
    decomposed.partials.forEach(partialOf);
    aggregates.push({ name, value: () => decomposed.combine(partial) });
  }

  const perDataset: { unit: number; rule: DominanceRule; measures: SqlNode[] }[] = [];
  release.unitCounts.forEach((unit, i) => {
    const rule = ruleOf(collaboration, unit.dataset, unit.kind);
    if (!rule) return;
    const measures = measuresFor(unit.dataset, inputs.aggregates, release, false);
    if (measures.length === 0) return;
    measures.forEach(partialOf);
    perDataset.push({ unit: unitLevels[i] as number, rule, measures });
  });
  if (perDataset.length === 0) return undefined;

  const keyRef = (k: { name: string }) => rows(k.name);
  const perRow = selectNode({
    select: [
      ...keys.map((k) => ({ ...k.expr, alias: k.name })),
      // A semi-join's matched person, per (group, person): matched on any of their rows. Grouping by
      // it would do the same today (the checker refuses correlated memberships, so it depends on the
      // probe alone), but would split a person in two, and their shares with them, if that changed.
      ...levels.map((l, i) =>
        dependent.has(i) ? aggregateCall('max', [l], { alias: `__cr_level_${i}` }) : { ...l, alias: `__cr_level_${i}` },
      ),
      ...partials.map((p, i) => ({ ...p, alias: `__cr_part_${i}` })),
    ],
    from: child(root, 'from_table') as SqlNode,
    where: child(root, 'where_clause') ?? null,
    groups: [...keys.map((k) => ({ ...k.expr, alias: '' })), ...levels.filter((_, i) => !dependent.has(i))],
    cteMap: root.cte_map,
  });
  // One person key (every other key fixed by it): every per-person row is one person of its group.
  const onePass = levels.length - dependent.size === 1;
  const innerColumns: SqlNode[] = [];
  const joins: { alias: string; subquery: SqlNode }[] = [];
  const pass: SqlNode[] = [];
  for (const { unit, rule, measures } of perDataset) {
    // Rows whose person is unknown (NULL) are nobody's contribution.
    const ofPerson = (m: SqlNode) => caseWhen(isNotNull(level(unit)), partial(m));
    if (onePass) {
      for (const m of measures) sharesInGroups(ofPerson(m), rule, inputs.groups, innerColumns, pass);
      continue;
    }
    const alias = `__cr_dom_${joins.length}`;
    const people = selectNode({
      select: [
        ...keys.map((k) => columnRef([ROWS_CTE, k.name], k.name)),
        ...measures.map((m, i) => aggregateCall('sum', [partial(m)], { alias: `__cr_m_${i}` })),
      ],
      from: tableRef(ROWS_CTE),
      where: isNotNull(level(unit)),
      groups: [...keys.map(keyRef), level(unit)],
    });
    const shares = sharesPerGroup(alias, keys, people, measures.length, rule);
    joins.push(shares.join);
    pass.push(...shares.pass);
  }
  const groups = selectNode({
    select: [
      ...keys.map((k) => columnRef([ROWS_CTE, k.name], k.name)),
      ...aggregates.map((a) => ({ ...a.value(), alias: a.name })),
      ...inputs.unitNames.map((name, i) =>
        aggregateCall('count', [level(unitLevels[i] as number)], { distinct: !onePass, alias: name }),
      ),
      ...innerColumns,
    ],
    from: onePass ? subqueryRef(perRow, ROWS_CTE) : tableRef(ROWS_CTE),
    groups: keys.map(keyRef),
  });
  return { groups, cte: onePass ? undefined : [ROWS_CTE, perRow], innerColumns: [], joins, pass };
}

const ruleOf = (collaboration: DominanceInputs['collaboration'], dataset: string, kind: string) =>
  kind === 'column' ? collaboration.datasets.get(dataset)?.rules.dominance : undefined;

/**
 * An aggregate as partials per (group, person) and their recombination, 'distinct' for
 * count(DISTINCT x) (x becomes a key of the per-person rows), or undefined if it does not decompose.
 */
function decompose(node: SqlNode, summable: ReadonlySet<string>): Decomposed | 'distinct' | undefined {
  const name = fold(text(node, 'function_name'));
  const arg = children(node, 'children')[0];
  const bare = (fn: string, args: SqlNode[]) => aggregateCall(fn, args);
  // A count of an empty input is 0, where a sum of no partials is NULL; and it stays a BIGINT.
  const count = (p: SqlNode): Decomposed => ({
    partials: [p],
    combine: (part) => coalesce([tryCast(bare('sum', [part(p)]), 'BIGINT'), integer(0)]),
  });
  if (node.distinct === true) return name === 'count' && arg ? 'distinct' : undefined;
  if (name === 'count_star' || (name === 'count' && !arg)) return count(bare('count_star', []));
  if (!arg) return undefined;
  if (name === 'count') return count(bare('count', [arg]));
  if (name === 'min' || name === 'max') {
    const p = bare(name, [arg]);
    return { partials: [p], combine: (part) => bare(name, [part(p)]) };
  }
  if (!summable.has(shapeKey(arg))) return undefined;
  if (name === 'sum') {
    const p = bare('sum', [arg]);
    return { partials: [p], combine: (part) => bare('sum', [part(p)]) };
  }
  if (name === 'avg' || name === 'mean') {
    const s = bare('sum', [arg]);
    const n = bare('count', [arg]);
    return {
      partials: [s, n],
      // avg over no non-NULL value is NULL: so is the sum of its partial sums, before the division.
      combine: (part) =>
        functionCall('/', [tryCast(bare('sum', [part(s)]), 'DOUBLE'), tryCast(bare('sum', [part(n)]), 'DOUBLE')]),
    };
  }
  return undefined;
}

/**
 * What makes two column references the same value on every row of the query's FROM: with one table,
 * `x` and `t.x` are the same column; an INNER JOIN ON a.x = b.y (reached through inner joins only)
 * makes a.x and b.y equal on every joined row. Maps every column reference to one representative,
 * so that a unit column, the partner's unit it is joined on, and count(DISTINCT x) over either share
 * one key of the per-person rows. Used to compare shapes; the emitted SQL keeps what was written.
 */
function qualifier(root: SqlNode): (node: SqlNode) => SqlNode {
  const from = child(root, 'from_table');
  const single = from?.type === 'BASE_TABLE' ? text(from, 'alias') || text(from, 'table_name') : undefined;
  const same = new Map<string, readonly string[]>();
  const nameOf = (names: readonly string[]) => names.map(fold).join('.');
  const representative = (names: readonly string[]): readonly string[] => {
    let current = names;
    for (let seen = 0; same.has(nameOf(current)) && seen < 64; seen++) current = same.get(nameOf(current)) as string[];
    return current;
  };
  const equalities = (node: SqlNode | undefined): void => {
    if (node?.type !== 'JOIN' || text(node, 'join_type') !== 'INNER') return;
    equalities(child(node, 'left'));
    equalities(child(node, 'right'));
    const condition = child(node, 'condition');
    const terms =
      condition?.type === 'CONJUNCTION_AND' ? children(condition, 'children') : condition ? [condition] : [];
    for (const term of terms) {
      const [left, right] = [child(term, 'left'), child(term, 'right')];
      if (term.type !== 'COMPARE_EQUAL' || left?.class !== 'COLUMN_REF' || right?.class !== 'COLUMN_REF') continue;
      const [a, b] = [representative(left.column_names as string[]), representative(right.column_names as string[])];
      if (nameOf(a) !== nameOf(b)) same.set(nameOf(b), a);
    }
  };
  equalities(from);
  const walk = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(walk);
    if (typeof value !== 'object' || value === null) return value;
    const node = value as SqlNode;
    if (node.class === 'COLUMN_REF') {
      const names = node.column_names as string[];
      const qualified = single !== undefined && names.length === 1 ? [single, ...names] : names;
      return { ...node, column_names: representative(qualified) };
    }
    // A subquery's columns are its own FROM's: leave them as written.
    if (node.class === 'SUBQUERY') return node;
    return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, walk(v)]));
  };
  return (node) => walk(node) as SqlNode;
}
