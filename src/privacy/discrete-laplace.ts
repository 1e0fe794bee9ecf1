import { bernoulliExp } from './bernoulli.ts';
import type { RandomSource } from './random-source.ts';
import type { Rational } from './rational.ts';
import { approximate } from './rational.ts';

const ONE: Rational = { num: 1n, den: 1n };

/**
 * One draw of the discrete Laplace distribution on the integers, P[Z = z] ∝ exp(-|z| / scale), for a
 * rational scale = t/s > 0. Algorithm 2 of Canonne, Kamath & Steinke (NeurIPS 2020): a uniform
 * remainder U in [0, t) accepted with probability exp(-U/t), plus t times a geometric count of
 * exp(-1) coins, divided by s; a random sign, with the "negative zero" rejected so 0 is not counted twice.
 * Only integers and exact Bernoulli draws are involved, so the output carries no rounding artefact.
 */
export function sampleDiscreteLaplace(scale: Rational, random: RandomSource): bigint {
  const t = scale.num;
  const s = scale.den;
  if (t <= 0n) throw new RangeError('discrete Laplace needs a positive scale');
  for (;;) {
    const u = random.uniformBigInt(t);
    if (!bernoulliExp({ num: u, den: t }, random)) continue;
    let v = 0n;
    while (bernoulliExp(ONE, random)) v += 1n;
    const magnitude = (u + t * v) / s;
    const negative = random.uniformBigInt(2n) === 1n;
    if (negative && magnitude === 0n) continue;
    return negative ? -magnitude : magnitude;
  }
}

/** Var[Z] = 2q/(1-q)^2 with q = exp(-1/scale). */
export function discreteLaplaceVariance(scale: number): number {
  const q = Math.exp(-1 / scale);
  const oneMinusQ = -Math.expm1(-1 / scale);
  return (2 * q) / (oneMinusQ * oneMinusQ);
}

/**
 * The smallest integer k with P[|Z| > k] ≤ alpha. The tail is exact: P[|Z| > k] = 2q^(k+1)/(1+q),
 * so k + 1 ≥ scale·ln(2 / (alpha·(1+q))).
 */
export function discreteLaplaceQuantile(scale: Rational, alpha: number): bigint {
  const b = approximate(scale);
  const q = Math.exp(-1 / b);
  const k = Math.ceil(b * Math.log(2 / (alpha * (1 + q)))) - 1;
  return BigInt(Math.max(0, k));
}

/** P[Z ≥ m] for an integer m ≥ 1: q^m / (1+q). */
export function discreteLaplaceUpperTail(scale: number, m: number): number {
  const q = Math.exp(-1 / scale);
  return Math.exp(-m / scale) / (1 + q);
}
