import { describe, expect, it } from 'vitest';
import { fitLogistic, fitLogisticPrivately, type LogisticPass } from '../../src/model/logistic-regression.ts';
import { rowNorm } from '../../src/model/adassp.ts';
import { LOGISTIC_CURVATURE, planObjectivePerturbation, sampleObjectiveNoise } from '../../src/privacy/index.ts';
import { seededRandomSource } from '../support/seeded-random-source.ts';

const BETA = [-0.5, 1.5, -2, 0.75];
function synthetic(n: number, seed: number) {
  const random = seededRandomSource(seed);
  const uniform = () => Number(random.uniformBigInt(1n << 32n)) / 2 ** 32;
  return Array.from({ length: n }, () => {
    const x = [1, uniform() * 2 - 1, uniform() * 2 - 1, uniform() * 2 - 1];
    const eta = x.reduce((s, v, i) => s + v * BETA[i]!, 0);
    return { x, y: uniform() < 1 / (1 + Math.exp(-eta)) ? 1 : 0 };
  });
}
/** The pass the room runs in DuckDB, in JavaScript over the raw rows (the DuckDB pass has its own test). */
const passOver =
  (rows: ReturnType<typeof synthetic>) =>
  async (beta: readonly number[]): Promise<LogisticPass> => {
    const d = beta.length;
    const hessian = Array.from({ length: d }, () => new Array<number>(d).fill(0));
    const gradient = new Array<number>(d).fill(0);
    for (const { x, y } of rows) {
      const p = 1 / (1 + Math.exp(-x.reduce((s, v, i) => s + v * beta[i]!, 0)));
      for (let i = 0; i < d; i += 1) {
        gradient[i]! += (p - y) * x[i]!;
        for (let j = 0; j < d; j += 1) hessian[i]![j]! += p * (1 - p) * x[i]! * x[j]!;
      }
    }
    return { n: rows.length, hessian, gradient };
  };
const xNorm = rowNorm(
  [
    [-1, 1],
    [-1, 1],
    [-1, 1],
  ],
  true,
);

describe('objective perturbation (DP logistic regression)', () => {
  it('spends exactly ε: the noise vector’s share plus the Jacobian’s log(1 + c/Λ)', () => {
    for (const epsilon of [0.1, 0.5, 1, 4])
      for (const ridge of [0, 0.01, 1, 100]) {
        const plan = planObjectivePerturbation({ epsilon, ridge, curvature: LOGISTIC_CURVATURE });
        expect(plan.noiseEpsilon + Math.log1p(LOGISTIC_CURVATURE / plan.ridge)).toBeCloseTo(epsilon, 12);
        expect(plan.noiseEpsilon).toBeGreaterThanOrEqual(epsilon / 2 - 1e-12);
        expect(plan.ridge).toBeGreaterThanOrEqual(ridge);
      }
  });

  it('draws b with density ∝ exp(−ε‖b‖): mean norm d/ε, no preferred direction', () => {
    const random = seededRandomSource(3);
    const draws = Array.from({ length: 4000 }, () => sampleObjectiveNoise(4, 2, random));
    const norms = draws.map((b) => Math.sqrt(b.reduce((s, v) => s + v * v, 0)));
    expect(norms.reduce((s, v) => s + v, 0) / draws.length).toBeCloseTo(4 / 2, 1);
    for (let i = 0; i < 4; i += 1)
      expect(Math.abs(draws.reduce((s, b) => s + b[i]!, 0) / draws.length)).toBeLessThan(0.06);
  });

  it('lands as near the unperturbed minimiser as its noise allows: error ∝ 1/ε', async () => {
    const rows = synthetic(20_000, 9);
    const pass = passOver(rows);
    const errors: Record<number, number> = {};
    for (const epsilon of [0.1, 1, 10]) {
      // The same objective without b: ridge Λ on the scaled coefficients is Λ·xNorm² on these, intercept included.
      const { ridge } = planObjectivePerturbation({ epsilon, ridge: 1, curvature: LOGISTIC_CURVATURE });
      const exact = (await fitLogistic(4, pass, { intercept: false, ridge: ridge * xNorm ** 2 })).coefficients;
      let total = 0;
      for (let seed = 1; seed <= 4; seed += 1) {
        const fit = await fitLogisticPrivately(4, pass, { epsilon, ridge: 1, xNorm, random: seededRandomSource(seed) });
        expect(fit.converged).toBe(true);
        total += Math.sqrt(fit.coefficients.reduce((s, b, i) => s + (b - exact[i]!) ** 2, 0));
      }
      errors[epsilon] = total / 4;
    }
    expect(errors[0.1]! / errors[1]!).toBeGreaterThan(4);
    expect(errors[1]! / errors[10]!).toBeGreaterThan(4);
    // At n = 20,000 and ε = 1 the noise moves the coefficients by about a thousandth.
    expect(errors[1]).toBeLessThan(0.01);
    console.log(`objective perturbation ‖β_dp − β‖ at n 20k: ${JSON.stringify(errors)}`);
  });

  it('releases the exact minimiser: the perturbed objective’s gradient vanishes there', async () => {
    const rows = synthetic(5_000, 4);
    const pass = passOver(rows);
    const fit = await fitLogisticPrivately(4, pass, { epsilon: 0.5, ridge: 1, xNorm, random: seededRandomSource(21) });
    // The same b the fit drew: the seeded source's first draws.
    const plan = planObjectivePerturbation({ epsilon: 0.5, ridge: 1, curvature: LOGISTIC_CURVATURE });
    const b = sampleObjectiveNoise(4, plan.noiseEpsilon, seededRandomSource(21));
    const at = await pass(fit.coefficients);
    const gradient = at.gradient.map((g, i) => g / xNorm + plan.ridge * fit.coefficients[i]! * xNorm + b[i]!);
    gradient.forEach((g) => expect(Math.abs(g)).toBeLessThan(1e-6));
  });
});
