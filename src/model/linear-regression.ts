import { inverseSymmetric, solveSymmetric } from './linear-algebra.ts';

/**
 * What one pass over the rows gives a linear model: n, X'X, X'y and y'y (X with an intercept
 * column of ones first, when the model has one). Everything a least-squares fit needs, and all a
 * DP mechanism perturbs (AdaSSP), so the data is read once.
 */
export interface SufficientStatistics {
  readonly n: number;
  readonly xtx: readonly (readonly number[])[];
  readonly xty: readonly number[];
  readonly yty: number;
}

export interface LinearFit {
  readonly coefficients: number[];
  readonly method: 'cholesky' | 'ridge';
  readonly ridge: number;
  /** residual sum of squares, from the statistics: y'y − 2β'X'y + β'X'Xβ */
  readonly rss: number;
  /** in-sample R² (needs an intercept column to mean the usual thing) */
  readonly r2: number;
  /**
   * σ̂²·(X'X)⁻¹ with σ̂² = RSS/(n − d): the classical OLS covariance of the coefficients, only for a
   * plain (unpenalised) solve of a full-rank design with n > d; absent otherwise.
   */
  readonly covariance?: number[][];
}

const dot = (a: readonly number[], b: readonly number[]) => a.reduce((s, v, i) => s + v * (b[i] ?? 0), 0);
const times = (m: readonly (readonly number[])[], v: readonly number[]) => m.map((row) => dot(row, v));

/**
 * Ordinary least squares (or ridge with `ridge` > 0, intercept unpenalised when `intercept`) from
 * sufficient statistics: the normal equations solved by Cholesky, regularised only if X'X is
 * singular. The residual sum of squares and R² come from the same statistics, never the rows.
 */
export function fitLinear(
  stats: SufficientStatistics,
  options: { readonly ridge?: number; readonly intercept?: boolean } = {},
): LinearFit {
  const d = stats.xty.length;
  const penalty = options.ridge ?? 0;
  const xtx = stats.xtx.map((row, i) =>
    row.map((v, j) => (i === j && penalty > 0 && !(options.intercept && i === 0) ? v + penalty : v)),
  );
  const solved = solveSymmetric(xtx, stats.xty);
  const beta = solved.solution;
  const rss = Math.max(0, stats.yty - 2 * dot(beta, stats.xty) + dot(beta, times(stats.xtx, beta)));
  // With an intercept column (all ones) first, Σy = X'y[0]; total sum of squares about the mean.
  const sumY = options.intercept ? (stats.xty[0] ?? 0) : 0;
  const tss = stats.yty - (options.intercept && stats.n > 0 ? (sumY * sumY) / stats.n : 0);
  if (d === 0) throw new RangeError('a model needs at least one column');
  const inverse =
    solved.method === 'cholesky' && penalty === 0 && stats.n > d ? inverseSymmetric(stats.xtx) : undefined;
  const sigma2 = rss / (stats.n - d);
  return {
    coefficients: beta,
    method: solved.method,
    ridge: solved.ridge,
    rss,
    r2: tss > 0 ? 1 - rss / tss : 0,
    ...(inverse ? { covariance: inverse.map((row) => row.map((v) => v * sigma2)) } : {}),
  };
}
