import { bernoulliExp } from './bernoulli.ts';
import { sampleDiscreteLaplace } from './discrete-laplace.ts';
import type { RandomSource } from './random-source.ts';
import type { Rational } from './rational.ts';
import { approximate, integerSqrt } from './rational.ts';

/** Φ^-1(0.975), rounded up so that intervals built from it are never too narrow. */
const Z_975 = 1.96;

/**
 * One draw of the discrete Gaussian N_Z(0, sigma2), P[Z = z] ∝ exp(-z^2 / (2·sigma2)), for a rational
 * sigma2 > 0. Algorithm 3 of Canonne, Kamath & Steinke (NeurIPS 2020): propose from a discrete
 * Laplace with integer scale t = floor(sigma) + 1 and accept with probability
 * exp(-(|Y| - sigma2/t)^2 / (2·sigma2)), computed as one exact rational exponent.
 */
export function sampleDiscreteGaussian(sigma2: Rational, random: RandomSource): bigint {
  const n = sigma2.num;
  const d = sigma2.den;
  if (n <= 0n) throw new RangeError('discrete Gaussian needs a positive variance parameter');
  // floor(sqrt(n/d)) = floor(sqrt(floor(n/d))) because k^2 ≤ x ⟺ k^2 ≤ floor(x) for integers k.
  const t = integerSqrt(n / d) + 1n;
  for (;;) {
    const y = sampleDiscreteLaplace({ num: t, den: 1n }, random);
    const magnitude = y < 0n ? -y : y;
    // (|y| - (n/d)/t)^2 / (2n/d) = (|y|·d·t - n)^2 / (2·n·d·t^2)
    const gap = magnitude * d * t - n;
    if (bernoulliExp({ num: gap * gap, den: 2n * n * d * t * t }, random)) return y;
  }
}

/**
 * Var[Z] for Z ~ N_Z(0, sigma2). CKS 2020 bound it by sigma2·(1 - 4π²σ²/(exp(4π²σ²) - 1)) ≤ Var ≤ sigma2,
 * so for sigma above 8 the difference is far below double precision and sigma2 itself is returned.
 */
export function discreteGaussianVariance(sigma2: number): number {
  const sigma = Math.sqrt(sigma2);
  if (sigma > 8) return sigma2;
  const limit = Math.ceil(sigma * 40) + 10;
  let mass = 0;
  let second = 0;
  for (let z = -limit; z <= limit; z += 1) {
    const weight = Math.exp(-(z * z) / (2 * sigma2));
    mass += weight;
    second += z * z * weight;
  }
  return second / mass;
}

/**
 * An integer k with P[|Z| > k] ≤ 0.05. Safe bound: the normaliser Σ exp(-z²/2σ²) is at least
 * sqrt(2π)·σ (Poisson summation) and each tail term is at most the integral over the unit interval
 * before it, so P[Z ≥ m] ≤ P[N(0, σ²) ≥ m - 1] for m ≥ 1; hence k = ceil(1.96σ) suffices.
 */
export function discreteGaussianQuantile95(sigma2: Rational): bigint {
  return BigInt(Math.ceil(Z_975 * Math.sqrt(approximate(sigma2))));
}
