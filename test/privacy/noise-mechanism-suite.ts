import { beforeAll, describe, expect, it } from 'vitest';
import type { RandomSource } from '../../src/privacy/random-source.ts';
import { seededRandomSource } from '../support/seeded-random-source.ts';

/** Options of the shared statistical suite. */
export interface NoiseSuiteOptions {
  /** The exact value the sampler releases noisily (0 for a bare noise sampler). */
  readonly exact?: number;
  /** When set, every release must be an exact multiple of it. */
  readonly granularity?: number;
  /** How far the release may sit from exact on average without noise: snapping moves it ≤ γ/2. */
  readonly bias?: number;
  readonly draws?: number;
  readonly seed?: number;
}

// Five standard errors: with a fixed seed the test is deterministic, and a correct mechanism sits
// well inside while a mechanism whose scale is 20% off (variance 36–44% off) lands far outside.
const Z = 5;

/**
 * The statistical suite every noise mechanism passes: unbiased, the variance it claims, and (for
 * real-valued mechanisms) no output off the grid.
 */
export function describeNoiseMechanism(
  name: string,
  sampler: (random: RandomSource) => number,
  expectedVariance: number,
  options: NoiseSuiteOptions = {},
): void {
  const exact = options.exact ?? 0;
  const draws = options.draws ?? 40_000;
  describe(`noise mechanism: ${name}`, () => {
    let outputs: number[] = [];
    let mean = 0;
    let variance = 0;
    let fourth = 0;
    // Drawn once per suite, in a hook so that collecting (or filtering) tests stays cheap.
    beforeAll(() => {
      const random = seededRandomSource(options.seed ?? 20_240_601);
      outputs = Array.from({ length: draws }, () => sampler(random));
      const errors = outputs.map((v) => v - exact);
      mean = errors.reduce((a, b) => a + b, 0) / draws;
      const centred = errors.map((e) => e - mean);
      variance = centred.reduce((a, c) => a + c * c, 0) / (draws - 1);
      fourth = centred.reduce((a, c) => a + c ** 4, 0) / draws;
    });

    it('is centred on the exact value', () => {
      const standardError = Math.sqrt(expectedVariance / draws);
      expect(Math.abs(mean)).toBeLessThanOrEqual(Z * standardError + (options.bias ?? 0));
    });

    it('has the variance it claims, tightly enough to catch a scale 20% off', () => {
      // CLT for the sample variance: its standard error is sqrt((m4 - s^4) / n).
      const tolerance = Z * Math.sqrt(Math.max(0, fourth - variance * variance) / draws);
      expect(Math.abs(variance - expectedVariance)).toBeLessThanOrEqual(tolerance);
      expect(tolerance).toBeLessThan(0.3 * expectedVariance);
    });

    it('produces varied outputs (not a constant)', () => {
      expect(new Set(outputs).size).toBeGreaterThan(2);
    });

    if (options.granularity !== undefined) {
      const granularity = options.granularity;
      it(`only releases exact multiples of the grid step ${granularity}`, () => {
        expect(outputs.every((v) => Number.isInteger(v / granularity))).toBe(true);
      });
    }
  });
}

/** Variance of an integer distribution given by unnormalised weights, summed over [-limit, limit]. */
export function varianceFromWeights(weight: (z: number) => number, limit: number): number {
  let mass = 0;
  let second = 0;
  for (let z = -limit; z <= limit; z += 1) {
    mass += weight(z);
    second += z * z * weight(z);
  }
  return second / mass;
}
