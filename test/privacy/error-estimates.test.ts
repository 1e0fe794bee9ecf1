import { describe, expect, it } from 'vitest';
import { expectedAbsoluteError } from '../../src/privacy/error-estimates.ts';
import { gaussianMechanism, laplaceMechanism } from '../../src/privacy/mechanisms.ts';
import { seededRandomSource } from '../support/seeded-random-source.ts';

function medianAbs(values: number[]): number {
  const sorted = values.map(Math.abs).sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

describe('theoretical error next to measured error', () => {
  it('gives b·ln 2 and 0.6745σ as median absolute errors', () => {
    expect(expectedAbsoluteError({ mechanism: 'laplace', scale: 2 }).medianAbsolute).toBeCloseTo(2 * Math.LN2, 12);
    expect(expectedAbsoluteError({ mechanism: 'gaussian', scale: 2 }).medianAbsolute).toBeCloseTo(1.349, 3);
  });

  it('matches the measured median error of the real-valued mechanisms within 3%', () => {
    const random = seededRandomSource(9);
    const laplace = Array.from({ length: 20_000 }, () =>
      laplaceMechanism({ value: 0, l1Sensitivity: 10, epsilon: 1, random }),
    );
    const lExpected = expectedAbsoluteError({ mechanism: 'laplace', scale: laplace[0]?.scale ?? 0 }).medianAbsolute;
    expect(Math.abs(medianAbs(laplace.map((r) => r.value)) / lExpected - 1)).toBeLessThan(0.03);
    const gaussian = Array.from({ length: 10_000 }, () =>
      gaussianMechanism({ value: 0, l2Sensitivity: 10, epsilon: 1, delta: 1e-6, random }),
    );
    const gExpected = expectedAbsoluteError({ mechanism: 'gaussian', scale: gaussian[0]?.sigma ?? 0 }).medianAbsolute;
    expect(Math.abs(medianAbs(gaussian.map((r) => r.value)) / gExpected - 1)).toBeLessThan(0.04);
  });

  it('reports 95% intervals that cover the exact value about 95% of the time (or more)', () => {
    const random = seededRandomSource(10);
    const draws = 20_000;
    let covered = 0;
    for (let i = 0; i < draws; i += 1) {
      const { ci95 } = laplaceMechanism({ value: 3.25, l1Sensitivity: 1, epsilon: 0.5, random });
      if (ci95[0] <= 3.25 && 3.25 <= ci95[1]) covered += 1;
    }
    expect(covered / draws).toBeGreaterThanOrEqual(0.945);
    expect(covered / draws).toBeLessThan(0.96);
  });
});
