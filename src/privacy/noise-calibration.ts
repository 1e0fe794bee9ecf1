import { discreteGaussianQuantile95, discreteGaussianVariance, sampleDiscreteGaussian } from './discrete-gaussian.ts';
import { discreteLaplaceQuantile, discreteLaplaceVariance, sampleDiscreteLaplace } from './discrete-laplace.ts';
import { fromGridSteps } from './granularity.ts';
import type { RandomSource } from './random-source.ts';
import type { Rational } from './rational.ts';
import { approximate, divide, multiply, rational, rationalFromNumber } from './rational.ts';
import { zcdpRhoFor } from './zcdp.ts';

/** Integer noise in grid steps: discrete Laplace with a scale, or discrete Gaussian with sigma². */
export type GridNoise =
  | { readonly kind: 'discrete-laplace'; readonly scale: Rational }
  | { readonly kind: 'discrete-gaussian'; readonly sigma2: Rational };

/** Everything needed to noise one released statistic; a function of public parameters only. */
export interface NoiseSpec {
  readonly mechanism: 'laplace' | 'gaussian';
  /** Grid step in real units (1 for integer statistics). */
  readonly granularity: number;
  /** The noise in grid steps, exact. */
  readonly noise: GridNoise;
  /** Laplace scale b, or Gaussian sigma, in real units (rounded, for display and error estimates). */
  readonly scale: number;
  /** Half-width of a 95% interval for the noise alone, in real units. */
  readonly ci95HalfWidth: number;
  /** Variance of the noise in real units. */
  readonly variance: number;
  readonly epsilon: number;
  readonly delta: number;
}

/**
 * Discrete Laplace (the geometric mechanism of Ghosh, Roughgarden & Sundararajan 2009): an integer
 * statistic whose L1 sensitivity is gridL1 grid steps is epsilon-DP with scale gridL1/epsilon.
 * The scale is formed exactly from the double epsilon, so the privacy claim is exact.
 */
export function calibrateLaplace(input: { gridL1: Rational; epsilon: number; granularity: number }): NoiseSpec {
  const scale = divide(input.gridL1, rationalFromNumber(input.epsilon));
  const gridScale = approximate(scale);
  const quantile = Number(discreteLaplaceQuantile(scale, 0.05));
  return {
    mechanism: 'laplace',
    granularity: input.granularity,
    noise: { kind: 'discrete-laplace', scale },
    scale: gridScale * input.granularity,
    ci95HalfWidth: quantile * input.granularity,
    variance: discreteLaplaceVariance(gridScale) * input.granularity ** 2,
    epsilon: input.epsilon,
    delta: 0,
  };
}

/**
 * Discrete Gaussian: CKS 2020 show N_Z(0, sigma²) on an integer shift d is d²/(2·sigma²)-zCDP, and
 * zCDP adds up over independent coordinates, so integer vectors whose squared L2 sensitivity is
 * gridL2Squared (in grid steps) are gridL2Squared/(2·sigma²)-zCDP. rho is the largest value that
 * the CKS §2.3 conversion maps into (epsilon, delta); sigma² = gridL2Squared/(2·rho) is formed
 * exactly from the double rho, so the claim does not depend on rounding sigma.
 */
export function calibrateGaussian(input: {
  gridL2Squared: Rational;
  epsilon: number;
  delta: number;
  granularity: number;
}): NoiseSpec {
  const rho = zcdpRhoFor(input.epsilon, input.delta);
  const sigma2 = divide(input.gridL2Squared, multiply(rational(2n), rationalFromNumber(rho)));
  const gridSigma2 = approximate(sigma2);
  const quantile = Number(discreteGaussianQuantile95(sigma2));
  return {
    mechanism: 'gaussian',
    granularity: input.granularity,
    noise: { kind: 'discrete-gaussian', sigma2 },
    scale: Math.sqrt(gridSigma2) * input.granularity,
    ci95HalfWidth: quantile * input.granularity,
    variance: discreteGaussianVariance(gridSigma2) * input.granularity ** 2,
    epsilon: input.epsilon,
    delta: input.delta,
  };
}

/** One draw of the spec's integer noise, in grid steps. */
export function sampleGridNoise(noise: GridNoise, random: RandomSource): bigint {
  return noise.kind === 'discrete-laplace'
    ? sampleDiscreteLaplace(noise.scale, random)
    : sampleDiscreteGaussian(noise.sigma2, random);
}

/** granularity·(steps + noise): the released value of an exact statistic already in grid steps. */
export function releaseGridSteps(spec: NoiseSpec, steps: bigint, random: RandomSource): number {
  return fromGridSteps(steps + sampleGridNoise(spec.noise, random), spec.granularity);
}
