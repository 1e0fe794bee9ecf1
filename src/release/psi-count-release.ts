import {
  discreteLaplaceQuantile,
  rationalFromNumber,
  sampleDiscreteLaplace,
  type RandomSource,
} from '../privacy/index.ts';
import type { PsiCountRelease } from '../psi/psi-session.ts';

/** The confidence of the interval released with a noisy PSI count. */
export const PSI_COUNT_CONFIDENCE = 0.95;

/**
 * The room's release of an intersection it counted: count + Z with Z discrete Laplace of scale 1/ε
 * (Canonne, Kamath & Steinke's exact sampler). The count has sensitivity 1: replacing one
 * identifier on either side moves the number of distinct common values by at most 1, and the
 * room's checks keep a member from making one identifier count twice (PROTOCOL.md). The interval
 * [noisy − k, noisy + k] with P[|Z| > k] ≤ 5% covers the true count with probability ≥ 95%;
 * clamping to [0, largest possible] is post-processing and keeps the coverage.
 */
export function releasePsiCount(
  common: number,
  largestPossible: number,
  epsilon: number,
  random: RandomSource,
): PsiCountRelease {
  const eps = rationalFromNumber(epsilon);
  const scale = { num: eps.den, den: eps.num };
  const noisy = common + Number(sampleDiscreteLaplace(scale, random));
  const k = Number(discreteLaplaceQuantile(scale, 1 - PSI_COUNT_CONFIDENCE));
  const clamp = (n: number) => Math.min(largestPossible, Math.max(0, n));
  return {
    count: clamp(noisy),
    interval: [clamp(noisy - k), clamp(noisy + k)],
    confidence: PSI_COUNT_CONFIDENCE,
    epsilon,
    mechanism: 'discrete-laplace',
    scale: 1 / epsilon,
  };
}
