import { CholeskyDecomposition, Matrix } from 'ml-matrix';
import { HOLDOUT_PER_MILLE } from '../../src/model/holdout-metrics.ts';
import type { QueryEngine } from '../../src/release/release-context.ts';

/**
 * The baselines of the models bench: the same models fitted plainly on the raw table, as one would
 * without a room: unclipped sums of products in one DuckDB query per pass (SQL written out here),
 * solved in JavaScript with ml-matrix. Bench-only SQL: table, columns and numbers come from the
 * bench itself, never from outside.
 */
export interface RawFit {
  readonly beta: number[];
  readonly passes: number;
  /** time in DuckDB (all passes) and in the JavaScript solves */
  readonly queryMs: number;
  readonly solveMs: number;
}

/** Which rows a raw fit reads: the whole table, or one side of a template's holdout split. */
export interface RawRows {
  readonly table: string;
  readonly features: readonly string[];
  readonly label: string;
  readonly where?: string;
}

/** The room's holdout split (`holdoutPredicate`) written as SQL: TRUE for the holdout's people. */
export const holdoutSql = (salt: string, unit: string): string =>
  `hash(concat('${salt.replaceAll("'", "''")}', CAST(${unit} AS VARCHAR))) % 1000 < ${HOLDOUT_PER_MILLE}`;

const numbers = (row: readonly unknown[] | undefined) => (row ?? []).map((v) => Number(v ?? 0));

/** Upper-triangle sums of w·xi·xj over X = [1, features], then Σ w·xi·t: SQL and a reader into (A, b). */
function normalEquations(features: readonly string[], weight: string, target: string) {
  const x = ['1', ...features];
  const times = (...terms: string[]) => terms.filter((term) => term !== '1').join(' * ') || '1';
  const sums: string[] = [];
  x.forEach((xi, i) => x.slice(i).forEach((xj) => sums.push(`sum(${times(weight, xi, xj)})`)));
  x.forEach((xi) => sums.push(`sum(${times(target, xi)})`));
  const read = (row: readonly number[]) => {
    const d = x.length;
    const a = Array.from({ length: d }, () => new Array<number>(d).fill(0));
    let at = 0;
    for (let i = 0; i < d; i += 1)
      for (let j = i; j < d; j += 1) {
        const v = row[at++] ?? 0;
        (a[i] as number[])[j] = v;
        (a[j] as number[])[i] = v;
      }
    return { a, b: x.map(() => row[at++] ?? 0) };
  };
  return { select: sums.join(', '), read };
}

const solve = (a: number[][], b: number[]) =>
  new CholeskyDecomposition(new Matrix(a)).solve(Matrix.columnVector(b)).to1DArray();

/** OLS: one query of X'X and X'y, one Cholesky solve. */
export async function rawLinear(engine: QueryEngine, rows: RawRows): Promise<RawFit> {
  const equations = normalEquations(rows.features, '1', rows.label);
  const t0 = performance.now();
  const result = await engine.query(`SELECT ${equations.select} FROM ${rows.table} WHERE ${rows.where ?? 'TRUE'}`, {});
  const t1 = performance.now();
  const { a, b } = equations.read(numbers(result.rows[0]));
  const beta = solve(a, b);
  return { beta, passes: 1, queryMs: t1 - t0, solveMs: performance.now() - t1 };
}

/** Logistic regression by Newton/IRLS: per pass, one query of the Hessian and gradient at β, then β ← β − H⁻¹g. */
export async function rawLogistic(engine: QueryEngine, rows: RawRows, tolerance = 1e-8): Promise<RawFit> {
  const equations = normalEquations(rows.features, 'w', '(p - y)');
  let beta = new Array<number>(rows.features.length + 1).fill(0);
  let queryMs = 0;
  let solveMs = 0;
  for (let passes = 1; passes <= 25; passes += 1) {
    const eta = [String(beta[0]), ...rows.features.map((f, j) => `${beta[j + 1]} * ${f}`)].join(' + ');
    const sql =
      `SELECT ${equations.select} FROM (SELECT *, p * (1 - p) AS w FROM (SELECT ${rows.features.join(', ')}, ` +
      `${rows.label} AS y, 1 / (1 + exp(-(${eta}))) AS p FROM ${rows.table} WHERE ${rows.where ?? 'TRUE'}))`;
    const t0 = performance.now();
    const result = await engine.query(sql, {});
    const t1 = performance.now();
    const { a, b } = equations.read(numbers(result.rows[0]));
    const step = solve(a, b);
    beta = beta.map((v, i) => v - (step[i] ?? 0));
    solveMs += performance.now() - t1;
    queryMs += t1 - t0;
    const size = Math.hypot(...step);
    if (size / Math.max(1, Math.hypot(...beta)) < tolerance) return { beta, passes, queryMs, solveMs };
  }
  throw new Error('raw IRLS did not converge in 25 passes');
}

/** The exact AUC of scores x·β on the rows (Mann-Whitney with average ranks for ties), in one query. */
export async function rawAuc(engine: QueryEngine, rows: RawRows, beta: readonly number[]): Promise<number> {
  const score = [String(beta[0]), ...rows.features.map((f, j) => `${beta[j + 1]} * ${f}`)].join(' + ');
  const sql =
    `SELECT (ranks - p * (p + 1) / 2) / (p * q) FROM (SELECT sum(r) FILTER (WHERE y = 1) AS ranks, ` +
    `(count(*) FILTER (WHERE y = 1))::DOUBLE AS p, (count(*) FILTER (WHERE y = 0))::DOUBLE AS q FROM ` +
    `(SELECT y, rank() OVER (ORDER BY s) + (count(*) OVER (PARTITION BY s) - 1) / 2.0 AS r FROM ` +
    `(SELECT ${rows.label} AS y, ${score} AS s FROM ${rows.table} WHERE ${rows.where ?? 'TRUE'})))`;
  const result = await engine.query(sql, {});
  return Number(result.rows[0]?.[0]);
}
