import type { DpShape } from './dp-shape.ts';

/** Per-aggregate inputs the SQL needs from the DP plan (grid and clamp for sums and averages). */
export interface DpSqlInputs {
  readonly maxGroups: number;
  readonly maxRowsPerUnit: number;
  readonly grids: readonly ({ readonly lower: number; readonly upper: number; readonly center: number; readonly granularity: number } | undefined)[];
}

/** A number as SQL text; only finite numbers from the policy and the plan reach here. */
const num = (value: number): string => {
  if (!Number.isFinite(value)) throw new Error('non-finite number in DP SQL');
  return `CAST(${JSON.stringify(value)} AS DOUBLE)`;
};

/**
 * The bounded DP query around the row-level SQL. Each unit keeps at most maxRowsPerUnit rows per
 * group and at most maxGroups groups, chosen at random (from the unit's own rows only); sums are
 * computed as exact integers of grid steps after clamping each row. The result has one row per
 * group: group keys, distinct units, then each aggregate's exact bounded value(s).
 */
export function boundedDpSql(rowSql: string, shape: DpShape, inputs: DpSqlInputs): string {
  const g = Array.from({ length: shape.groupCount }, (_, i) => `__cr_g${i}`);
  const unitAndGroups = ['__cr_unit', ...g].join(', ');
  const sameGroup = ['r.__cr_unit = u.__cr_unit', ...g.map((c) => `r.${c} IS NOT DISTINCT FROM u.${c}`)].join(' AND ');
  const steps = (metric: number, grid: NonNullable<DpSqlInputs['grids'][number]>) =>
    `CAST(round((least(greatest(CAST(r.__cr_m${metric} AS DOUBLE), ${num(grid.lower)}), ${num(grid.upper)}) - ${num(grid.center)}) / ${num(grid.granularity)}) AS HUGEINT)`;
  const aggregates = shape.aggregates.flatMap((a, i) => {
    const grid = inputs.grids[i];
    switch (a.kind) {
      case 'count':
        return [`count(*) AS __cr_a${i}`];
      case 'count_distinct_units':
        return [`count(DISTINCT r.__cr_unit) AS __cr_a${i}`];
      default:
        if (!grid || !a.metric) throw new Error('a sum or average needs its grid');
        return [`sum(${steps(a.metric.index, grid)}) AS __cr_a${i}`, ...(a.kind === 'avg' ? [`count(r.__cr_m${a.metric.index}) AS __cr_n${i}`] : [])];
    }
  });
  return [
    `WITH __cr_rows AS (${rowSql}),`,
    `__cr_capped AS (SELECT * FROM (SELECT *, row_number() OVER (PARTITION BY ${unitAndGroups} ORDER BY random()) AS __cr_rn FROM __cr_rows WHERE __cr_unit IS NOT NULL) WHERE __cr_rn <= ${inputs.maxRowsPerUnit}),`,
    `__cr_unit_groups AS (SELECT ${unitAndGroups}, row_number() OVER (PARTITION BY __cr_unit ORDER BY random()) AS __cr_gn FROM (SELECT DISTINCT ${unitAndGroups} FROM __cr_capped))`,
    `SELECT ${[...g.map((c) => `r.${c}`), 'count(DISTINCT r.__cr_unit) AS __cr_units', ...aggregates].join(', ')}`,
    `FROM __cr_capped AS r JOIN __cr_unit_groups AS u ON ${sameGroup}`,
    `WHERE u.__cr_gn <= ${inputs.maxGroups}`,
    g.length > 0 ? `GROUP BY ${g.map((c) => `r.${c}`).join(', ')}` : '',
  ].join('\n');
}
