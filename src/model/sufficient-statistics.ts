import {
  aggregateCall,
  caseWhen,
  compare,
  castTo,
  columnRef,
  subqueryRef,
  conjunction,
  functionCall,
  double,
  isNotNull,
  selectNode,
  type SqlNode,
} from '../query/sql-tree.ts';
import type { SufficientStatistics } from './linear-regression.ts';

/**
 * A model column: its expression over the feature view and the bounds it is clipped to (from policy,
 * never data); with `affine`, trained as (clipped − shift) / scale (public constants, so every column
 * can weigh alike in the DP mechanisms' norms).
 */
export interface BoundedColumn {
  readonly value: SqlNode;
  readonly bounds: readonly [number, number];
  readonly affine?: { readonly shift: number; readonly scale: number };
}

/** The range of a column as trained: its bounds, through its affine map (the same arithmetic as the pass). */
export const trainedRange = ({ bounds, affine }: BoundedColumn): readonly [number, number] =>
  affine ? [(bounds[0] - affine.shift) / affine.scale, (bounds[1] - affine.shift) / affine.scale] : bounds;

/**
 * `value` kept inside [low, high] as a CASE (DuckDB runs it ~2x faster per row than greatest/least,
 * measured by bench:models). NULL stays NULL; NaN compares above every number, so it becomes `high`.
 */
export function clipTo(value: SqlNode, low: number, high: number): SqlNode {
  const inside = caseWhen(compare('COMPARE_GREATERTHAN', value, double(high)), double(high), '', value);
  return caseWhen(compare('COMPARE_LESSTHAN', value, double(low)), double(low), '', inside);
}

// Clipped first and mapped after: the CASE then compares the column itself, not an expression DuckDB
// would evaluate once per branch (bench:models: the linear pass went from 0.23 s to 0.11 s at 1M × 8).
const clip = ({ value, bounds: [low, high], affine }: BoundedColumn): SqlNode => {
  const clipped = clipTo(castTo(value, 'DOUBLE'), low, high);
  return affine
    ? functionCall('/', [functionCall('-', [clipped, double(affine.shift)]), double(affine.scale)])
    : clipped;
};

/** The columns of X as a pass computes them: a leading 1 with `intercept`, then each feature clipped to its bounds. */
export const designColumns = (features: readonly BoundedColumn[], intercept: boolean): SqlNode[] => [
  ...(intercept ? [double(1)] : []),
  ...features.map(clip),
];

/** Only rows where every feature and the label are present take part. */
export const completeRows = (features: readonly BoundedColumn[], label: SqlNode): SqlNode =>
  conjunction('CONJUNCTION_AND', [...features.map((f) => isNotNull(f.value)), isNotNull(label)]);

/**
 * One DuckDB pass for a linear model: n, the upper triangle of X'X, X'y and y'y over the rows where
 * every feature and the label are present, each clipped to its declared bounds first (so one
 * person's row moves every sum by a bounded amount: what DP needs). With `intercept`, X's first
 * column is the constant 1 (its sums are n and Σx, Σy).
 */
export function sufficientStatisticsTree(
  from: SqlNode,
  features: readonly BoundedColumn[],
  label: BoundedColumn,
  intercept: boolean,
): SqlNode {
  // Each clipped column is computed once per row in a subquery, not once per product it enters.
  const rows = selectNode({
    select: [
      ...designColumns(features, intercept).map((xi, i) => ({ ...xi, alias: `__cr_x${i}` })),
      { ...clip(label), alias: '__cr_y' },
    ],
    from,
    where: completeRows(features, label.value),
  });
  const d = features.length + (intercept ? 1 : 0);
  const x = Array.from({ length: d }, (_, i) => columnRef(['__cr_rows', `__cr_x${i}`]));
  const y = columnRef(['__cr_rows', '__cr_y']);
  const sums: SqlNode[] = [];
  x.forEach((xi, i) =>
    x
      .slice(i)
      .forEach((xj, j) => sums.push({ ...productSum(intercept && i === 0, xi, xj), alias: `xx_${i}_${i + j}` })),
  );
  x.forEach((xi, i) => sums.push({ ...productSum(intercept && i === 0, xi, y), alias: `xy_${i}` }));
  return selectNode({
    select: [{ ...aggregateCall('count_star', []), alias: 'n' }, ...sums, { ...productSum(false, y, y), alias: 'yy' }],
    from: subqueryRef(rows, '__cr_rows'),
  });
}

/**
 * One pass over the same rows as `sufficientStatisticsTree` (the intercept's 1 first): the largest
 * leverage max xᵀ·A·x, with A the pseudo-inverse of their X'X, computed in the room. A row's
 * leverage is the weight of its own label in its fitted value: 1/m for one of m people alike, 1 for
 * a row the exact fit passes through.
 */
export function maxLeverageTree(
  from: SqlNode,
  features: readonly BoundedColumn[],
  label: SqlNode,
  inverse: readonly (readonly number[])[],
): SqlNode {
  const rows = selectNode({
    select: designColumns(features, true).map((xi, i) => ({ ...xi, alias: `__cr_x${i}` })),
    from,
    where: completeRows(features, label),
  });
  const d = features.length + 1;
  const x = Array.from({ length: d }, (_, i) => columnRef(['__cr_rows', `__cr_x${i}`]));
  // Σ_i Σ_j≥i c_ij x_i x_j, c_ii = A_ii and c_ij = 2·A_ij; x_0 = 1 drops out of its products.
  const terms: SqlNode[] = [];
  for (let i = 0; i < d; i += 1)
    for (let j = i; j < d; j += 1) {
      const c = (inverse[i]?.[j] ?? 0) * (i === j ? 1 : 2);
      if (c === 0) continue;
      const product = i === 0 ? (j === 0 ? undefined : x[j]!) : functionCall('*', [x[i]!, x[j]!]);
      terms.push(product ? functionCall('*', [double(c), product]) : double(c));
    }
  // Added pairwise, so the expression's depth grows with log d², not d².
  const add = (parts: readonly SqlNode[]): SqlNode =>
    parts.length === 0
      ? double(0)
      : parts.length === 1
        ? parts[0]!
        : functionCall('+', [add(parts.slice(0, parts.length >> 1)), add(parts.slice(parts.length >> 1))]);
  return selectNode({ select: [aggregateCall('max', [add(terms)])], from: subqueryRef(rows, '__cr_rows') });
}

/**
 * Σ a·b, or Σ b when `a` is the intercept's constant 1 (the same sum, one product less per row: the
 * intercept's row and column of X'X are n and the column sums; bench:models, linear pass 83 → 78 ms).
 */
export function productSum(aIsOne: boolean, a: SqlNode, b: SqlNode): SqlNode {
  return aggregateCall('sum', [aIsOne ? b : functionCall('*', [a, b])]);
}

/** Reads the one row `sufficientStatisticsTree` answers, for `d` columns of X (intercept included). */
export function readSufficientStatistics(row: readonly unknown[], d: number): SufficientStatistics {
  const values = row.map((v) => (v === null || v === undefined ? 0 : Number(v)));
  let at = 1;
  const xtx = Array.from({ length: d }, () => new Array<number>(d).fill(0));
  for (let i = 0; i < d; i += 1)
    for (let j = i; j < d; j += 1) {
      const v = values[at++] ?? 0;
      (xtx[i] as number[])[j] = v;
      (xtx[j] as number[])[i] = v;
    }
  const xty = Array.from({ length: d }, () => values[at++] ?? 0);
  return { n: values[0] ?? 0, xtx, xty, yty: values[at] ?? 0 };
}
