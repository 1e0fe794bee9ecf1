import type { DpShape } from '../dp-shape.ts';
import {
  STAR,
  aggregateCall,
  castTo,
  columnRef,
  compare,
  cteMap,
  double,
  functionCall,
  inSubquery,
  integer,
  isNotNull,
  not,
  rowNumber,
  selectNode,
  tableRef,
  unionAll,
  type SqlNode,
} from '../sql-tree.ts';

/** What the bounding needs from the noise plan: the contribution bounds and each sum's grid. */
export interface DpBounds {
  readonly maxGroups: number;
  readonly maxRowsPerUnit: number;
  /** per DP aggregate, in shape order: the clamp and grid of a sum or average */
  readonly grids: readonly (
    | {
        readonly lower: number;
        readonly upper: number;
        readonly center: number;
        readonly granularity: number;
        readonly perRowSteps: bigint;
      }
    | undefined
  )[];
  /** a fresh key per query: which groups a person keeps is a hash of it, the person and the group */
  readonly key: number;
  /** one dataset read straight from a table holding one row per person: every bound holds already */
  readonly onePersonPerRow: boolean;
}

const col = (name: string, alias = '') => columnRef([name], alias);
const clampTo = (value: SqlNode, low: SqlNode, high: SqlNode) =>
  functionCall('greatest', [functionCall('least', [value, high]), low]);

/**
 * The DP query around the row-level tree (unit, group keys, metrics), as a tree. Each person keeps at
 * most maxRowsPerUnit rows' worth in each group and at most maxGroups groups:
 * 1. per (person, group), in one aggregation: rows counted up to maxRowsPerUnit, each metric clamped
 *    and rounded to whole grid steps row by row, the person's sum of steps clamped to
 *    ±maxRowsPerUnit·perRowSteps (the same bound as keeping maxRowsPerUnit rows);
 * 2. a person in more than maxGroups groups keeps the maxGroups whose hash(key, person, group) is
 *    smallest; only those people go through the window, the rest keep all their groups;
 * 3. per group: people, and the sums of those bounded contributions, which are exact integers.
 * Nothing is drawn at random in SQL: the key comes from the room's random source. One row per
 * group: the group keys, the number of people, then each aggregate's value(s) (an average: sum, count).
 */
export function boundedDpTree(rowTree: SqlNode, shape: DpShape, bounds: DpBounds): SqlNode {
  const groups = Array.from({ length: shape.groupCount }, (_, i) => `__cr_g${i}`);
  const rows = bounds.maxRowsPerUnit;
  const steps = (metric: number, i: number): SqlNode => {
    const grid = bounds.grids[i];
    if (!grid) throw new Error('a sum or average needs its grid');
    const clamped = clampTo(castTo(col(`__cr_m${metric}`), 'DOUBLE'), double(grid.lower), double(grid.upper));
    return castTo(
      functionCall('round', [
        functionCall('/', [functionCall('-', [clamped, double(grid.center)]), double(grid.granularity)]),
      ]),
      'BIGINT',
    );
  };
  const perPersonLimit = (i: number) => {
    const limit = BigInt(rows) * (bounds.grids[i]?.perRowSteps ?? 0n);
    if (limit > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error('a per-person sum bound past 2^53 steps');
    return Number(limit);
  };

  if (bounds.onePersonPerRow) {
    // Each row is its own person: one row in one group, within every bound.
    const values = shape.aggregates.flatMap((a, i) => {
      if (a.kind === 'count' || a.kind === 'count_distinct_units')
        return [aggregateCall('count_star', [], { alias: `__cr_a${i}` })];
      const sum = aggregateCall('sum', [steps(a.metric?.index ?? 0, i)], { alias: `__cr_a${i}` });
      return a.kind === 'avg'
        ? [sum, aggregateCall('count', [col(`__cr_m${a.metric?.index ?? 0}`)], { alias: `__cr_n${i}` })]
        : [sum];
    });
    return selectNode({
      select: [...groups.map((g) => col(g)), aggregateCall('count_star', [], { alias: '__cr_units' }), ...values],
      from: tableRef('__cr_rows'),
      where: isNotNull(col('__cr_unit')),
      groups: groups.map((g) => col(g)),
      cteMap: cteMap([['__cr_rows', rowTree]]),
    });
  }

  const person = functionCall('hash', [col('__cr_unit')]);
  const partials = shape.aggregates.flatMap((a, i) => {
    if (a.kind === 'count_distinct_units') return [];
    const count = (arg?: SqlNode) =>
      functionCall('least', [arg ? aggregateCall('count', [arg]) : aggregateCall('count_star', []), integer(rows)]);
    if (a.kind === 'count') return [{ ...count(), alias: `__cr_p${i}` }];
    const metric = a.metric?.index ?? 0;
    const limit = perPersonLimit(i);
    const sum = {
      ...clampTo(aggregateCall('sum', [steps(metric, i)]), integer(-limit), integer(limit)),
      alias: `__cr_p${i}`,
    };
    return a.kind === 'avg' ? [sum, { ...count(col(`__cr_m${metric}`)), alias: `__cr_q${i}` }] : [sum];
  });
  const perPerson = selectNode({
    select: [
      { ...person, alias: '__cr_u' },
      ...groups.map((g) => col(g)),
      { ...functionCall('hash', [integer(bounds.key), person, ...groups.map((g) => col(g))]), alias: '__cr_h' },
      ...partials,
    ],
    from: tableRef('__cr_rows'),
    where: isNotNull(col('__cr_unit')),
    groups: [person, ...groups.map((g) => col(g))],
  });
  const crowded = {
    ...selectNode({ select: [col('__cr_u')], from: tableRef('__cr_person'), groups: [col('__cr_u')] }),
    having: compare('COMPARE_GREATERTHAN', aggregateCall('count_star', []), integer(bounds.maxGroups)),
  };
  const inCrowded = inSubquery(col('__cr_u'), selectNode({ select: [col('__cr_u')], from: tableRef('__cr_crowded') }));
  const kept = unionAll(selectNode({ select: [STAR], from: tableRef('__cr_person'), where: not(inCrowded) }), {
    ...selectNode({ select: [STAR], from: tableRef('__cr_person'), where: inCrowded }),
    qualify: compare(
      'COMPARE_LESSTHANOREQUALTO',
      rowNumber([col('__cr_u')], [col('__cr_h')]),
      integer(bounds.maxGroups),
    ),
  });
  // One group for everyone (no GROUP BY): nobody can be in too many, so the window is never needed.
  const limited = groups.length === 0 ? tableRef('__cr_person') : tableRef('__cr_kept');
  const values = shape.aggregates.flatMap((a, i) => {
    if (a.kind === 'count_distinct_units') return [aggregateCall('count_star', [], { alias: `__cr_a${i}` })];
    const sum = aggregateCall('sum', [col(`__cr_p${i}`)], { alias: `__cr_a${i}` });
    return a.kind === 'avg' ? [sum, aggregateCall('sum', [col(`__cr_q${i}`)], { alias: `__cr_n${i}` })] : [sum];
  });
  return selectNode({
    select: [...groups.map((g) => col(g)), aggregateCall('count_star', [], { alias: '__cr_units' }), ...values],
    from: limited,
    groups: groups.map((g) => col(g)),
    cteMap: cteMap([
      ['__cr_rows', rowTree],
      ['__cr_person', perPerson],
      ...(groups.length > 0
        ? ([
            ['__cr_crowded', crowded],
            ['__cr_kept', kept],
          ] as const)
        : []),
    ]),
  });
}
