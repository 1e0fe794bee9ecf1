import { describe, expect, it } from 'vitest';
import { bernoulliExp } from '../../src/privacy/bernoulli.ts';
import { chooseGranularity, fromGridSteps, isGranularity, toGridSteps } from '../../src/privacy/granularity.ts';
import { integerSqrt, rational, rationalFromNumber } from '../../src/privacy/rational.ts';
import { zcdpDelta, zcdpRhoFor } from '../../src/privacy/zcdp.ts';
import { seededRandomSource } from '../support/seeded-random-source.ts';

describe('exact rationals', () => {
  it('reads a double exactly, including 0.1', () => {
    expect(rationalFromNumber(0.1)).toEqual({ num: 3602879701896397n, den: 36028797018963968n });
    expect(rationalFromNumber(-2.5)).toEqual({ num: -5n, den: 2n });
    expect(rationalFromNumber(2 ** 70)).toEqual({ num: 2n ** 70n, den: 1n });
    expect(rational(6n, 4n)).toEqual({ num: 3n, den: 2n });
  });

  it('takes integer square roots', () => {
    for (const n of [0n, 1n, 2n, 3n, 4n, 15n, 16n, 17n, 10n ** 40n, 10n ** 40n - 1n]) {
      const r = integerSqrt(n);
      expect(r * r <= n && (r + 1n) * (r + 1n) > n).toBe(true);
    }
  });

  it('draws Bernoulli(exp(-gamma)) at the right rate for gamma below and above 1', () => {
    const random = seededRandomSource(3);
    for (const [num, den] of [
      [1n, 3n],
      [5n, 2n],
    ] as const) {
      const draws = 40_000;
      let hits = 0;
      for (let i = 0; i < draws; i += 1) if (bernoulliExp({ num, den }, random)) hits += 1;
      const p = Math.exp(-Number(num) / Number(den));
      expect(Math.abs(hits / draws - p)).toBeLessThan(5 * Math.sqrt((p * (1 - p)) / draws));
    }
  });
});

describe('the snapping grid', () => {
  it('is a power of two about 2^-20 of the reference', () => {
    for (const reference of [1e-6, 0.3, 1, 7, 1e9]) {
      const g = chooseGranularity(reference);
      expect(isGranularity(g)).toBe(true);
      expect(g).toBeLessThanOrEqual(reference * 2 ** -20);
      expect(g).toBeGreaterThan(reference * 2 ** -22);
    }
  });

  it('round-trips values exactly onto the grid', () => {
    const g = 2 ** -10;
    expect(toGridSteps(1.00048828125 + 1e-9, g)).toBe(1025n);
    expect(fromGridSteps(-1025n, g)).toBe(-1.0009765625);
    expect(toGridSteps(2 ** 60, g)).toBe(2n ** 70n);
  });
});

describe('zCDP to (epsilon, delta)', () => {
  it('matches the Bun–Steinke bound or beats it', () => {
    for (const [epsilon, delta] of [
      [0.1, 1e-6],
      [1, 1e-6],
      [5, 1e-9],
      [20, 1e-5],
    ] as const) {
      const rho = zcdpRhoFor(epsilon, delta);
      const bunSteinke = (Math.sqrt(Math.log(1 / delta) + epsilon) - Math.sqrt(Math.log(1 / delta))) ** 2;
      expect(rho).toBeGreaterThanOrEqual(bunSteinke);
      expect(zcdpDelta(rho, epsilon)).toBeLessThanOrEqual(delta);
      expect(zcdpDelta(rho * 1.001, epsilon)).toBeGreaterThan(delta * 0.99);
    }
  });

  it('gives a sigma that the exact (Balle & Wang) Gaussian privacy curve confirms, without much slack', () => {
    for (const [epsilon, delta] of [
      [0.1, 1e-5],
      [1, 1e-6],
      [4, 1e-9],
    ] as const) {
      const sigma = 1 / Math.sqrt(2 * zcdpRhoFor(epsilon, delta));
      // Exact delta of N(0, σ²) on sensitivity 1: Φ(1/2σ - εσ) - e^ε Φ(-1/2σ - εσ).
      const exact =
        normalCdf(1 / (2 * sigma) - epsilon * sigma) -
        Math.exp(epsilon) * normalCdf(-1 / (2 * sigma) - epsilon * sigma);
      expect(exact).toBeLessThanOrEqual(delta);
      expect(exact).toBeGreaterThan(delta / 20);
    }
  });
});

/** Φ(x) by Simpson's rule on the density, accurate far beyond what the test needs. */
function normalCdf(x: number): number {
  if (x > 0) return 1 - normalCdf(-x);
  const steps = 200_000;
  const lower = x - 40;
  const h = (x - lower) / steps;
  const f = (t: number) => Math.exp(-(t * t) / 2) / Math.sqrt(2 * Math.PI);
  let total = f(lower) + f(x);
  for (let i = 1; i < steps; i += 1) total += (i % 2 === 1 ? 4 : 2) * f(lower + i * h);
  return (total * h) / 3;
}
