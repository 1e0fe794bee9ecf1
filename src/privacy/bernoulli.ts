import type { RandomSource } from './random-source.ts';
import type { Rational } from './rational.ts';

const ONE: Rational = { num: 1n, den: 1n };

/** Exactly Bernoulli(p) for a rational p in [0, 1]: one uniform integer draw, no rounding. */
export function bernoulli(p: Rational, random: RandomSource): boolean {
  return random.uniformBigInt(p.den) < p.num;
}

/**
 * Exactly Bernoulli(exp(-gamma)) for a rational gamma ≥ 0: Algorithm 1 of Canonne, Kamath & Steinke,
 * "The Discrete Gaussian for Differential Privacy" (NeurIPS 2020). For gamma ≤ 1 it counts how long
 * a run of Bernoulli(gamma/k) successes lasts (the parity of that run has probability exp(-gamma));
 * above 1 it multiplies floor(gamma) independent exp(-1) coins with one exp(-(gamma - floor(gamma))) coin.
 */
export function bernoulliExp(gamma: Rational, random: RandomSource): boolean {
  if (gamma.num < 0n) throw new RangeError('bernoulliExp needs gamma ≥ 0');
  if (gamma.num <= gamma.den) {
    let k = 1n;
    while (random.uniformBigInt(gamma.den * k) < gamma.num) k += 1n;
    return k % 2n === 1n;
  }
  const whole = gamma.num / gamma.den;
  for (let i = 0n; i < whole; i += 1n) {
    if (!bernoulliExp(ONE, random)) return false;
  }
  return bernoulliExp({ num: gamma.num - whole * gamma.den, den: gamma.den }, random);
}
