import { adassp, rowNorm } from '../../src/model/adassp.ts';
import { readSufficientStatistics } from '../../src/model/sufficient-statistics.ts';
import { cryptoRandomSource } from '../../src/privacy/index.ts';
import type { QueryEngine } from '../../src/release/release-context.ts';
import type { RawRows } from './raw-fits.ts';

/** A feature's or label's declared bounds, by column. */
export interface Bounded {
  readonly name: string;
  readonly bounds: readonly [number, number];
}

/**
 * What-if for the accuracy table: the room's AdaSSP (`src/model/adassp.ts`, same mechanism, same
 * rows) on features rescaled from their declared bounds to [−1, 1] instead of the room's [0, 1],
 * optionally with the label shifted by the middle of its bounds. Both are public maps of declared
 * bounds (free in privacy); they centre the design so the intercept is nearly orthogonal to the
 * features and X'X's smallest eigenvalue (which sets AdaSSP's ridge) grows. Coefficients come back
 * in the features' own units.
 */
export async function centredAdassp(
  engine: QueryEngine,
  rows: RawRows,
  features: readonly Bounded[],
  label: Bounded,
  options: { readonly centreLabel: boolean; readonly epsilon: number; readonly delta: number },
): Promise<number[]> {
  const clip = (column: string, [low, high]: readonly [number, number]) =>
    `greatest(${low}, least(${high}, ${column}))`;
  const z = features.map(
    (f) => `((2 * ${clip(f.name, f.bounds)} - ${f.bounds[0] + f.bounds[1]}) / ${f.bounds[1] - f.bounds[0]})`,
  );
  const middle = options.centreLabel ? (label.bounds[0] + label.bounds[1]) / 2 : 0;
  const y = `(${clip(label.name, label.bounds)} - ${middle})`;
  const x = ['1', ...z];
  const sums: string[] = ['count(*)'];
  x.forEach((xi, i) => x.slice(i).forEach((xj) => sums.push(`sum(${xi} * ${xj})`)));
  x.forEach((xi) => sums.push(`sum(${xi} * ${y})`));
  sums.push(`sum(${y} * ${y})`);
  const result = await engine.query(`SELECT ${sums.join(', ')} FROM ${rows.table} WHERE ${rows.where ?? 'TRUE'}`, {});
  const stats = readSufficientStatistics(result.rows[0] ?? [], x.length);
  const yBound = Math.max(Math.abs(label.bounds[0] - middle), Math.abs(label.bounds[1] - middle));
  const xNorm = rowNorm(
    features.map(() => [-1, 1] as const),
    true,
  );
  const fit = adassp(stats, { xNorm, yBound }, options, cryptoRandomSource);
  const b = fit.coefficients;
  const slopes = features.map((f, j) => ((b[j + 1] ?? 0) * 2) / (f.bounds[1] - f.bounds[0]));
  const intercept = features.reduce(
    (s, f, j) => s - ((b[j + 1] ?? 0) * (f.bounds[0] + f.bounds[1])) / (f.bounds[1] - f.bounds[0]),
    (b[0] ?? 0) + middle,
  );
  return [intercept, ...slopes];
}
