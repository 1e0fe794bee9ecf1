import type { Collaboration } from '../policy/collaboration.ts';
import { diagnostic, type Diagnostic } from '../errors/diagnostic.ts';
import { positionOf } from './source-position.ts';
import type { CheckedRelease } from './query-checker.ts';
import { postProcessingProblem, shapeKey } from './dp-post-processing.ts';
import { resolveGrouping } from './grouping.ts';
import { child, children, columnRef, fold, text, type SqlNode } from './sql-tree.ts';

export type DpAggregateKind = 'count' | 'count_distinct_units' | 'sum' | 'avg';

/** One noisy DP aggregate: its internal alias, kind, and for sum/avg the metric and its clamp. */
export interface DpAggregateShape {
  readonly alias: string;
  readonly kind: DpAggregateKind;
  readonly metric?: {
    readonly index: number;
    readonly dataset: string;
    readonly column: string;
    readonly clamp: readonly [number, number];
    readonly integer: boolean;
  };
}

/** The released query in DP form: a row-level tree plus what to aggregate over it, in output order. */
export interface DpShape {
  /** SELECT unit AS __cr_unit, group expressions AS __cr_g<i>, metric columns AS __cr_m<i> FROM … WHERE … */
  readonly rowTree: SqlNode;
  readonly groupCount: number;
  readonly aggregates: readonly DpAggregateShape[];
  /** structural keys of `aggregates`, to find an aggregate's noisy value while evaluating outputs */
  readonly aggregateKeys: readonly string[];
  /** output columns in the order the query asked for them: grouping keys, or post-processing of noisy aggregates */
  readonly outputs: readonly (
    | { readonly kind: 'group'; readonly index: number; readonly name: string }
    | {
        readonly kind: 'value';
        readonly name: string;
        readonly expression: SqlNode;
        readonly aggregates: readonly number[];
      }
  )[];
  readonly datasets: readonly string[];
}

/**
 * Recognises the DP subset in an already checked (and edited) release: GROUP BY dimension
 * expressions; count(*), count(DISTINCT privacy unit), sum(metric) and avg(metric) of bare metric
 * columns with clamp bounds; every join on the privacy units, so the unit is carried through.
 * Anything else gets a DP_NOT_SUPPORTED diagnostic saying what to change.
 */
export function dpShape(
  collaboration: Collaboration,
  sql: string,
  tree: SqlNode,
  release: CheckedRelease,
): { ok: true; shape: DpShape } | { ok: false; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  const refuse = (message: string, node?: SqlNode, rule = 'DP subset') => {
    diagnostics.push(diagnostic('DP_NOT_SUPPORTED', message, rule, {}, positionOf(sql, node?.query_location)));
  };
  const datasets = [...release.datasets];
  for (const name of datasets) {
    if (!collaboration.datasets.get(name)?.rules.dp)
      refuse(
        `The owner of ${name} has no dp rules, so it cannot be queried in DP mode.`,
        tree,
        `datasets.${name}.rules.dp`,
      );
  }
  for (const { a, b } of release.joinPairs) {
    const unitA = collaboration.datasets.get(a.dataset)?.rules.privacyUnit;
    const unitB = collaboration.datasets.get(b.dataset)?.rules.privacyUnit;
    if (a.column !== unitA || b.column !== unitB)
      refuse(
        `DP joins must be on the privacy units, so one person stays one person: ` +
          `${a.dataset}.${a.column} = ${b.dataset}.${b.column} is not.`,
        tree,
        'rules.privacyUnit',
      );
  }
  for (const joinType of release.joinTypes) {
    // The bounding keys every row to the first dataset's unit; rows that exist only on the right of
    // a RIGHT or FULL join have none, and would silently drop out of the answer.
    if (joinType !== 'INNER' && joinType !== 'LEFT')
      refuse(
        `${joinType} joins have no DP form: rows without the first dataset's person cannot be bounded; use INNER ` +
          `or LEFT JOIN.`,
        tree,
      );
  }
  if (tree.having)
    refuse(
      'HAVING filters on exact aggregates, which DP cannot release; filter rows with WHERE.',
      child(tree, 'having'),
    );
  const firstUnit = release.unitCounts.find((u) => u.kind === 'column' && u.ref);
  if (!firstUnit) refuse('The query has no privacy unit in FROM.', tree);

  const select = children(tree, 'select_list');
  const { groups, groupOfItem } = resolveGrouping(tree);

  const aggregates: DpAggregateShape[] = [];
  const aggregateKeys: string[] = [];
  const metrics: SqlNode[] = [];
  const outputs: DpShape['outputs'][number][] = [];
  // One noisy value per distinct aggregate, shared by every output that uses it.
  const register = (node: SqlNode): void => {
    const key = shapeKey(node);
    if (aggregateKeys.includes(key)) return;
    const shape = aggregateShape(
      collaboration,
      release,
      node,
      `${RESERVED_AGGREGATE}${aggregates.length}`,
      metrics,
      refuse,
    );
    if (!shape) return;
    aggregates.push(shape);
    aggregateKeys.push(key);
  };
  select.forEach((item, i) => {
    const name =
      text(item, 'alias') || (item.class === 'COLUMN_REF' ? String((item.column_names as string[]).at(-1)) : `col${i}`);
    let usesAggregate = false;
    const problem = postProcessingProblem(item, () => {
      usesAggregate = true;
    });
    if (!usesAggregate) {
      const group = groupOfItem.get(i);
      if (group === undefined)
        refuse(
          `"${name}" must be a GROUP BY expression or computed from count(*), count(DISTINCT unit), sum(metric), ` +
            `avg(metric).`,
          item,
        );
      else outputs.push({ kind: 'group', index: group, name });
      return;
    }
    if (problem) {
      refuse(
        `"${name}": in DP mode an output is a grouping expression, or +, -, *, /, round() and numeric casts over ` +
          `count(*), count(DISTINCT unit), sum(metric), avg(metric).`,
        problem,
      );
      return;
    }
    const uses: number[] = [];
    postProcessingProblem(item, (aggregate) => {
      register(aggregate);
      const index = aggregateKeys.indexOf(shapeKey(aggregate));
      if (index >= 0 && !uses.includes(index)) uses.push(index);
    });
    outputs.push({ kind: 'value', name, expression: item, aggregates: uses });
  });
  if (aggregates.length === 0) refuse('A DP query needs at least one aggregate.', tree);
  if (diagnostics.length > 0 || !firstUnit) return { ok: false, diagnostics };

  const rowTree: SqlNode = {
    ...tree,
    modifiers: [],
    select_list: [
      columnRef(firstUnit.ref as readonly string[], '__cr_unit'),
      ...groups.map((g, i) => ({ ...g, alias: `__cr_g${i}` })),
      ...metrics,
    ],
    group_expressions: [],
    group_sets: [],
    aggregate_handling: 'STANDARD_HANDLING',
    having: null,
  };
  return { ok: true, shape: { rowTree, groupCount: groups.length, aggregates, aggregateKeys, outputs, datasets } };
}

const RESERVED_AGGREGATE = '__cr_a';

/** The DP form of one aggregate call, or a refusal saying why it has none. */
function aggregateShape(
  collaboration: Collaboration,
  release: CheckedRelease,
  item: SqlNode,
  alias: string,
  metrics: SqlNode[],
  refuse: (message: string, node?: SqlNode, rule?: string) => void,
): DpAggregateShape | undefined {
  const fn = fold(text(item, 'function_name'));
  const args = children(item, 'children');
  const arg = args[0];
  if (fn === 'count_star' || (fn === 'count' && args.length === 0)) return { alias, kind: 'count' };
  const isUnit = (ref: SqlNode) =>
    release.units.some((u) => {
      const last = fold((ref.column_names as string[]).at(-1) as string);
      return last === fold(u.column) || last === fold(collaboration.datasets.get(u.dataset)?.rules.privacyUnit ?? '');
    });
  if (fn === 'count' && item.distinct === true && arg?.class === 'COLUMN_REF' && isUnit(arg))
    return { alias, kind: 'count_distinct_units' };
  if ((fn === 'sum' || fn === 'avg') && item.distinct !== true && arg?.class === 'COLUMN_REF' && args.length === 1) {
    const metric = metricOf(collaboration, release, arg);
    if (!metric) {
      refuse(
        `${fn}() in DP mode takes a bare metric column with dp.clamp bounds in its owner's rules.`,
        item,
        'rules.dp.clamp',
      );
      return undefined;
    }
    metrics.push(columnRef(arg.column_names as string[], `__cr_m${metrics.length}`));
    return { alias, kind: fn, metric: { ...metric, index: metrics.length - 1 } };
  }
  refuse(
    `${fn}(${item.distinct === true ? 'DISTINCT …' : '…'}) has no DP form: use count(*), count(DISTINCT <privacy ` +
      `unit>), sum(metric) or avg(metric).`,
    item,
  );
  return undefined;
}

function metricOf(
  collaboration: Collaboration,
  release: CheckedRelease,
  ref: SqlNode,
): Omit<NonNullable<DpAggregateShape['metric']>, 'index'> | undefined {
  const names = (ref.column_names as string[]).map(fold);
  const column = names.at(-1) as string;
  // Resolve against the datasets read: the checker already proved the reference is an unambiguous metric.
  const candidates = [...release.columns.entries()].filter(
    ([key, cls]) => cls === 'metric' && key.endsWith(`.${column}`),
  );
  const owner = candidates.length === 1 ? ((candidates[0] as [string, unknown])[0].split('.')[0] as string) : undefined;
  const dataset = owner ? collaboration.datasets.get(owner) : undefined;
  const clamp = dataset?.rules.dp?.clamp?.[column];
  if (!dataset || !clamp) return undefined;
  const type = dataset.column.get(column)?.type;
  return {
    dataset: dataset.name,
    column,
    clamp,
    integer: (type === 'INTEGER' || type === 'BIGINT') && Number.isInteger(clamp[0]) && Number.isInteger(clamp[1]),
  };
}
