import { gaussianMechanism, gaussianVectorMechanism, type RandomSource } from '../privacy/index.ts';
import { smallestEigenvalue, solveRidge } from './linear-algebra.ts';
import type { SufficientStatistics } from './linear-regression.ts';

/** The public bounds AdaSSP needs: every row's ‖x‖₂ ≤ xNorm (intercept included) and |y| ≤ yBound. */
export interface RowBounds {
  readonly xNorm: number;
  readonly yBound: number;
}

export interface AdasspFit {
  readonly coefficients: number[];
  /** the adaptive ridge the noisy statistics were solved with */
  readonly ridge: number;
  /** per-entry noise sigma of X'X and of X'y, and of the smallest eigenvalue */
  readonly sigmas: { readonly xtx: number; readonly xty: number; readonly eigenvalue: number };
  readonly epsilon: number;
  readonly delta: number;
  /** X'X[0][0] after noise: a noisy n when X's first column is the intercept (post-processing, free) */
  readonly noisyCount: number;
}

/** Failure probability of the spectral bound on the noise matrix (Wang's ρ). */
const RHO = 0.05;

/**
 * AdaSSP (Wang, "Revisiting differentially private linear regression", UAI 2018, Algorithm 2):
 * release X'X and X'y with Gaussian noise and solve with a ridge chosen from a noisy lower bound of
 * X'X's smallest eigenvalue, so a well-conditioned design gets almost no ridge and an ill-conditioned
 * one enough to keep the noise from dominating. Neighbouring datasets differ in one person's row
 * (add or remove); a row moves X'X by x·xᵀ (Frobenius ≤ xNorm²), X'y by x·y (≤ xNorm·yBound) and the
 * smallest eigenvalue by at most xNorm² (Weyl). The three releases split (ε, δ) in three (basic
 * composition); each is the room's exact discrete Gaussian mechanism. Everything after is
 * post-processing. n is not used (nor released here).
 */
export function adassp(
  stats: SufficientStatistics,
  bounds: RowBounds,
  privacy: { readonly epsilon: number; readonly delta: number },
  random: RandomSource,
): AdasspFit {
  const d = stats.xty.length;
  const share = { epsilon: privacy.epsilon / 3, delta: privacy.delta / 3 };
  const xx = bounds.xNorm ** 2;
  const eigen = gaussianMechanism({
    value: Math.max(0, smallestEigenvalue(stats.xtx)),
    l2Sensitivity: xx,
    ...share,
    random,
  });
  // A lower bound on λ_min that holds with probability 1 − δ/3: shift down by the Gaussian tail.
  const lowerEigen = Math.max(0, eigen.value - eigen.sigma * Math.sqrt(2 * Math.log(3 / privacy.delta)));
  const upper = [] as number[];
  for (let i = 0; i < d; i += 1) for (let j = i; j < d; j += 1) upper.push(stats.xtx[i]?.[j] ?? 0);
  const noisyUpper = gaussianVectorMechanism({ values: upper, l2Sensitivity: xx, ...share, random });
  const noisyXty = gaussianVectorMechanism({
    values: stats.xty,
    l2Sensitivity: bounds.xNorm * bounds.yBound,
    ...share,
    random,
  });
  const xtx = Array.from({ length: d }, () => new Array<number>(d).fill(0));
  let at = 0;
  for (let i = 0; i < d; i += 1)
    for (let j = i; j < d; j += 1) {
      const v = noisyUpper.values[at++] ?? 0;
      (xtx[i] as number[])[j] = v;
      (xtx[j] as number[])[i] = v;
    }
  // The noise matrix's spectral norm is below σ·√(d·log(2d²/ρ)) with probability 1 − ρ.
  const ridge = Math.max(0, noisyUpper.sigma * Math.sqrt(d * Math.log((2 * d * d) / RHO)) - lowerEigen);
  return {
    coefficients: solveRidge(xtx, noisyXty.values, ridge),
    ridge,
    sigmas: { xtx: noisyUpper.sigma, xty: noisyXty.sigma, eigenvalue: eigen.sigma },
    epsilon: privacy.epsilon,
    delta: privacy.delta,
    noisyCount: xtx[0]?.[0] ?? 0,
  };
}

/** ‖x‖₂ bound of a row from per-feature clipping bounds (and the intercept's 1). */
export function rowNorm(featureBounds: readonly (readonly [number, number])[], intercept: boolean): number {
  return Math.sqrt((intercept ? 1 : 0) + featureBounds.reduce((s, [lo, hi]) => s + Math.max(lo * lo, hi * hi), 0));
}
