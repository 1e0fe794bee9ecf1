import { gaussianVectorMechanism, type RandomSource } from '../privacy/index.ts';
import { smallestEigenvalue, solveRidge } from './linear-algebra.ts';
import type { SufficientStatistics } from './linear-regression.ts';

/**
 * The public bounds AdaSSP needs: every row's |x_i| ≤ coordinates[i] (the intercept's 1 included) and
 * |y| ≤ yBound.
 */
export interface RowBounds {
  readonly coordinates: readonly number[];
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
 * How the privacy loss is shared (as zCDP ρ, which adds up) between the smallest eigenvalue, X'X and
 * X'y. The eigenvalue only sets the ridge, which a design with enough people does not need at all, so
 * it gets a tenth; Wang splits ε in equal thirds.
 */
export const ADASSP_SHARES = { eigenvalue: 0.1, xtx: 0.45, xty: 0.45 } as const;

/**
 * L2 sensitivities of AdaSSP's three releases for one row (add or remove one person) within `bounds`:
 * - λ_min(X'X) moves by at most ‖x‖² (Weyl);
 * - X'X's upper triangle (diagonal once) by √(Σ_{i≤j} x_i²x_j²) = √(((Σx_i²)² + Σx_i⁴)/2), largest at
 *   every |x_i| at its bound: with 8 features in [-1, 1] and the intercept, 6.7 where ‖x‖² = 9;
 * - X'y by ‖x‖·|y|.
 */
export function adasspSensitivities(bounds: RowBounds): { eigenvalue: number; xtx: number; xty: number } {
  const squares = bounds.coordinates.map((b) => b * b);
  const normSquared = squares.reduce((s, v) => s + v, 0);
  const fourth = squares.reduce((s, v) => s + v * v, 0);
  return {
    eigenvalue: normSquared,
    xtx: Math.sqrt((normSquared * normSquared + fourth) / 2),
    xty: Math.sqrt(normSquared) * bounds.yBound,
  };
}

/**
 * AdaSSP (Wang, "Revisiting differentially private linear regression", UAI 2018, Algorithm 2):
 * release X'X and X'y with Gaussian noise and solve with a ridge chosen from a noisy lower bound of
 * X'X's smallest eigenvalue, so a well-conditioned design gets almost no ridge and an ill-conditioned
 * one enough to keep the noise from dominating. Neighbouring datasets differ in one person's row
 * (add or remove); sensitivities as `adasspSensitivities`.
 *
 * The three statistics are released as ONE vector by the room's exact discrete Gaussian mechanism at
 * (ε, δ): each block is scaled by √share / its sensitivity, so one row moves the whole vector by at
 * most 1 in L2, and block i costs share_i of the mechanism's ρ (zCDP composes by adding ρ). This is
 * tighter than Wang's basic composition of three (ε/3, δ/3) releases: at ε 1, δ 1e-6 each block's
 * noise is about 1.9× smaller for the same shares. Everything after is post-processing; n is not used.
 */
export function adassp(
  stats: SufficientStatistics,
  bounds: RowBounds,
  privacy: { readonly epsilon: number; readonly delta: number },
  random: RandomSource,
): AdasspFit {
  const d = stats.xty.length;
  if (bounds.coordinates.length !== d) throw new RangeError('AdaSSP needs one bound per column of X');
  const sensitivity = adasspSensitivities(bounds);
  const weight = {
    eigenvalue: Math.sqrt(ADASSP_SHARES.eigenvalue) / sensitivity.eigenvalue,
    xtx: Math.sqrt(ADASSP_SHARES.xtx) / sensitivity.xtx,
    xty: Math.sqrt(ADASSP_SHARES.xty) / sensitivity.xty,
  };
  const upper = [] as number[];
  for (let i = 0; i < d; i += 1) for (let j = i; j < d; j += 1) upper.push(stats.xtx[i]?.[j] ?? 0);
  const released = gaussianVectorMechanism({
    values: [
      Math.max(0, smallestEigenvalue(stats.xtx)) * weight.eigenvalue,
      ...upper.map((v) => v * weight.xtx),
      ...stats.xty.map((v) => v * weight.xty),
    ],
    l2Sensitivity: 1,
    ...privacy,
    random,
  });
  const sigmas = {
    eigenvalue: released.sigma / weight.eigenvalue,
    xtx: released.sigma / weight.xtx,
    xty: released.sigma / weight.xty,
  };
  const eigenvalue = (released.values[0] ?? 0) / weight.eigenvalue;
  const noisyUpper = released.values.slice(1, 1 + upper.length).map((v) => v / weight.xtx);
  const noisyXty = released.values.slice(1 + upper.length).map((v) => v / weight.xty);
  // A lower bound on λ_min that holds with probability 1 − δ/3: shift down by the Gaussian tail.
  const lowerEigen = Math.max(0, eigenvalue - sigmas.eigenvalue * Math.sqrt(2 * Math.log(3 / privacy.delta)));
  const xtx = Array.from({ length: d }, () => new Array<number>(d).fill(0));
  let at = 0;
  for (let i = 0; i < d; i += 1)
    for (let j = i; j < d; j += 1) {
      const v = noisyUpper[at++] ?? 0;
      (xtx[i] as number[])[j] = v;
      (xtx[j] as number[])[i] = v;
    }
  // The noise matrix's spectral norm is below σ·√(d·log(2d²/ρ)) with probability 1 − ρ.
  const ridge = Math.max(0, sigmas.xtx * Math.sqrt(d * Math.log((2 * d * d) / RHO)) - lowerEigen);
  return {
    coefficients: solveRidge(xtx, noisyXty, ridge),
    ridge,
    sigmas,
    epsilon: privacy.epsilon,
    delta: privacy.delta,
    noisyCount: xtx[0]?.[0] ?? 0,
  };
}

/** ‖x‖₂ bound of a row from per-feature clipping bounds (and the intercept's 1). */
export function rowNorm(featureBounds: readonly (readonly [number, number])[], intercept: boolean): number {
  return Math.hypot(...coordinateBounds(featureBounds, intercept));
}

/** Largest |x_i| per column of X from per-feature clipping bounds, the intercept's 1 first. */
export function coordinateBounds(featureBounds: readonly (readonly [number, number])[], intercept: boolean): number[] {
  return [...(intercept ? [1] : []), ...featureBounds.map(([lo, hi]) => Math.max(Math.abs(lo), Math.abs(hi)))];
}
