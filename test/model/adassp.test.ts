import { describe, expect, it } from 'vitest';
import { adassp, rowNorm } from '../../src/model/adassp.ts';
import { fitLinear, type SufficientStatistics } from '../../src/model/linear-regression.ts';
import { gaussianVectorMechanism } from '../../src/privacy/index.ts';
import { seededRandomSource } from '../support/seeded-random-source.ts';

/** Sufficient statistics of n synthetic rows: 8 features uniform in [-1, 1], y = x·β + noise, clipped to [-5, 5]. */
function syntheticStats(n: number, beta: readonly number[], seed: number): SufficientStatistics {
  const random = seededRandomSource(seed);
  const uniform = () => Number(random.uniformBigInt(1n << 32n)) / 2 ** 32;
  const d = beta.length;
  const xtx = Array.from({ length: d }, () => new Array<number>(d).fill(0));
  const xty = new Array<number>(d).fill(0);
  let yty = 0;
  const x = new Array<number>(d).fill(0);
  for (let r = 0; r < n; r += 1) {
    x[0] = 1;
    for (let i = 1; i < d; i += 1) x[i] = uniform() * 2 - 1;
    let y = x.reduce((s, v, i) => s + v * beta[i]!, 0) + (uniform() - 0.5) * 0.5;
    y = Math.max(-5, Math.min(5, y));
    for (let i = 0; i < d; i += 1) {
      xty[i]! += x[i]! * y;
      for (let j = i; j < d; j += 1) xtx[i]![j]! += x[i]! * x[j]!;
    }
    yty += y * y;
  }
  for (let i = 0; i < d; i += 1) for (let j = 0; j < i; j += 1) xtx[i]![j] = xtx[j]![i]!;
  return { n, xtx, xty, yty };
}

const BETA = [0.5, 1, -0.8, 0.3, 0.6, -0.2, 0.9, -0.5, 0.1];
const bounds = {
  xNorm: rowNorm(
    Array.from({ length: 8 }, () => [-1, 1] as const),
    true,
  ),
  yBound: 5,
};
const norm = (v: readonly number[]) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));

/** Mean relative error ‖β_dp − β_ols‖ / ‖β_ols‖ over a few draws of the noise. */
function relativeError(stats: SufficientStatistics, epsilon: number, draws = 5): number {
  const ols = fitLinear(stats, { intercept: true }).coefficients;
  let total = 0;
  for (let seed = 1; seed <= draws; seed += 1) {
    const dp = adassp(stats, bounds, { epsilon, delta: 1e-6 }, seededRandomSource(1000 + seed));
    total += norm(dp.coefficients.map((b, i) => b - ols[i]!)) / norm(ols);
  }
  return total / draws;
}

describe('AdaSSP', () => {
  const stats = { 10_000: syntheticStats(10_000, BETA, 1), 100_000: syntheticStats(100_000, BETA, 2) };
  const errors: Record<string, number> = {};
  for (const n of [10_000, 100_000] as const)
    for (const epsilon of [0.1, 1, 10]) errors[`${n}/${epsilon}`] = relativeError(stats[n], epsilon);

  it('errs less with more people and more ε, as theory says (about 1/(nε), well-conditioned design)', () => {
    for (const epsilon of [0.1, 1, 10])
      expect(errors[`10000/${epsilon}`]! / errors[`100000/${epsilon}`]!).toBeGreaterThan(4);
    for (const n of [10_000, 100_000]) {
      expect(errors[`${n}/0.1`]! / errors[`${n}/1`]!).toBeGreaterThan(4);
      expect(errors[`${n}/1`]! / errors[`${n}/10`]!).toBeGreaterThan(3);
    }
    // Near Wang's figures for this shape of data: ~1% at 100k, ε 1.
    expect(errors['100000/1']).toBeLessThan(0.02);
    console.log(`AdaSSP relative error ${JSON.stringify(errors)}`);
  });

  it('adds noise of the calibrated sigma to every coordinate of a vector', () => {
    const values = new Array<number>(20_000).fill(3.25);
    const out = gaussianVectorMechanism({
      values,
      l2Sensitivity: 2,
      epsilon: 1,
      delta: 1e-6,
      random: seededRandomSource(7),
    });
    const mean = out.values.reduce((s, v) => s + v, 0) / values.length;
    const sd = Math.sqrt(out.values.reduce((s, v) => s + (v - mean) ** 2, 0) / (values.length - 1));
    expect(mean).toBeCloseTo(3.25, 0);
    expect(Math.abs(sd / out.sigma - 1)).toBeLessThan(0.03);
    // The sigma is that of the Gaussian mechanism for Δ = 2 at (1, 1e-6) through zCDP: about 2·3.7.
    expect(out.sigma).toBeGreaterThan(2 * 3);
    expect(out.sigma).toBeLessThan(2 * 5);
  });
});
