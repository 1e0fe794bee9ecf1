import { describe, expect, it } from 'vitest';
import { planPartitionSelection, releaseProbability, selectPartitions } from '../../src/privacy/partition-selection.ts';
import { seededRandomSource } from '../support/seeded-random-source.ts';

describe('Laplace thresholding for partition selection', () => {
  it('puts the threshold where a one-unit group is released with probability at most 1 - (1 - delta)^(1/Δ0)', () => {
    for (const [epsilon, delta, maxGroups] of [
      [1, 1e-5, 1],
      [0.3, 1e-6, 4],
      [2, 1e-9, 20],
    ] as const) {
      const plan = planPartitionSelection({ epsilon, delta, maxGroups });
      const perGroup = 1 - (1 - delta) ** (1 / maxGroups);
      expect(releaseProbability(plan, 1)).toBeLessThanOrEqual(perGroup);
      // The smallest such threshold: one lower would break the bound.
      const lower = { ...plan, threshold: plan.threshold - 1n };
      expect(releaseProbability(lower, 1)).toBeGreaterThan(perGroup);
      // Close to the continuous-Laplace threshold 1 + (Δ0/ε)·ln(Δ0/(2δ)).
      const continuous = 1 + (maxGroups / epsilon) * Math.log(maxGroups / (2 * delta));
      expect(Math.abs(Number(plan.threshold) - continuous)).toBeLessThanOrEqual(maxGroups / epsilon + 1);
    }
  });

  it('suppresses groups of one unit and releases groups of 10,000', () => {
    const plan = planPartitionSelection({ epsilon: 0.5, delta: 1e-6, maxGroups: 3 });
    const random = seededRandomSource(11);
    const tiny = Array.from({ length: 20_000 }, (_, i) => ({ key: `tiny-${i}`, privacyUnits: 1 }));
    const large = Array.from({ length: 2_000 }, (_, i) => ({ key: `large-${i}`, privacyUnits: 10_000n }));
    const selection = selectPartitions([...tiny, ...large], plan, random);
    expect(selection.released).toEqual(large.map((g) => g.key));
    expect(selection.suppressedCount).toBe(20_000);
    expect(releaseProbability(plan, 1)).toBeLessThan(1e-6);
    expect(releaseProbability(plan, 10_000)).toBeGreaterThan(1 - 1e-12);
  });

  it('releases a group at the threshold about half the time, as the discrete Laplace tail says', () => {
    const plan = planPartitionSelection({ epsilon: 1, delta: 1e-5, maxGroups: 2 });
    const units = Number(plan.threshold);
    const groups = Array.from({ length: 20_000 }, (_, i) => ({ key: i, privacyUnits: units }));
    const rate = selectPartitions(groups, plan, seededRandomSource(12)).released.length / groups.length;
    const p = releaseProbability(plan, units);
    expect(Math.abs(rate - p)).toBeLessThan(5 * Math.sqrt((p * (1 - p)) / groups.length));
  });

  it('refuses a zero delta: partition selection is never pure DP', () => {
    expect(() => planPartitionSelection({ epsilon: 1, delta: 0, maxGroups: 1 })).toThrow(RangeError);
  });
});
