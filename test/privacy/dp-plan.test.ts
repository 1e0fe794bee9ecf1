import { describe, expect, it } from 'vitest';
import { RefusedError } from '../../src/errors/refused-error.ts';
import type { DpQueryRequest } from '../../src/privacy/dp-plan.ts';
import { planDpAggregates } from '../../src/privacy/dp-plan.ts';
import { releaseDpGroups } from '../../src/privacy/dp-release.ts';
import { isGranularity } from '../../src/privacy/granularity.ts';
import { seededRandomSource } from '../support/seeded-random-source.ts';

const base: DpQueryRequest = {
  mechanism: 'laplace',
  epsilon: 1.2,
  delta: 1e-6,
  contribution: { maxGroups: 2, maxRowsPerUnit: 5 },
  partitionSelection: true,
  aggregates: [
    { alias: 'n', kind: 'count' },
    { alias: 'spend', kind: 'sum', clamp: { lower: 0, upper: 250.5 } },
    { alias: 'age', kind: 'avg', clamp: { lower: 18, upper: 90 }, metricType: 'integer' },
  ],
  limits: { maxEpsilonPerQuery: 5 },
};

function plan(overrides: Partial<DpQueryRequest> = {}) {
  return planDpAggregates({ ...base, ...overrides });
}

describe('planDpAggregates: budget split and noise parameters', () => {
  it('splits epsilon equally over the statistics (AVG counts two) and partition selection', () => {
    const p = plan();
    expect(p.split.epsilonShares).toBe(5);
    expect(p.split.epsilonPerShare * 5).toBeLessThanOrEqual(1.2);
    expect(p.split.epsilonPerShare).toBeCloseTo(0.24, 14);
    expect(p.cost).toEqual({ epsilonSpent: 1.2, deltaSpent: 1e-6 });
    expect(p.partitionSelection?.epsilon).toBe(p.split.epsilonPerShare);
    expect(p.partitionSelection?.delta).toBe(1e-6);
  });

  it('never lets the shares add up to more than the stated epsilon, even when the division rounds up', () => {
    for (const epsilon of [0.1, 0.3, 0.7, 1, 1.1, 2.9]) {
      for (const shares of [3, 6, 7, 11]) {
        const aggregates = Array.from({ length: shares }, (_, i) => ({ alias: `c${i}`, kind: 'count' as const }));
        const p = plan({ epsilon, aggregates, partitionSelection: false });
        let total = 0;
        for (let i = 0; i < shares; i += 1) total += p.split.epsilonPerShare;
        expect(p.split.epsilonPerShare * shares).toBeLessThanOrEqual(epsilon);
        expect(total).toBeLessThanOrEqual(epsilon * (1 + 1e-15));
      }
    }
  });

  it('calibrates COUNT to scale maxGroups·maxRowsPerUnit / epsilonShare', () => {
    const count = plan().aggregates[0];
    if (count?.kind !== 'count') throw new Error('expected count');
    expect(count.noise.granularity).toBe(1);
    expect(count.noise.scale).toBeCloseTo((2 * 5) / 0.24, 9);
    expect(count.sensitivity.l1).toBe(10);
  });

  it('snaps a real SUM to a power-of-two grid and bounds each row in whole steps', () => {
    const sum = plan().aggregates[1];
    if (sum?.kind !== 'sum') throw new Error('expected sum');
    expect(isGranularity(sum.input.granularity)).toBe(true);
    expect(sum.input.center).toBe(0);
    expect(Number(sum.input.perRowSteps) * sum.input.granularity).toBeGreaterThanOrEqual(250.5);
    expect(Number(sum.input.perRowSteps - 1n) * sum.input.granularity).toBeLessThan(250.5);
    // Rounding costs at most one step per row: the scale exceeds the unrounded one by < 2^-19.
    const unrounded = (2 * 5 * 250.5) / 0.24;
    expect(sum.noise.scale).toBeGreaterThanOrEqual(unrounded);
    expect(sum.noise.scale / unrounded - 1).toBeLessThan(2 ** -19);
  });

  it('centres AVG on the middle of its clamp and pays for a sum and a count', () => {
    const avg = plan().aggregates[2];
    if (avg?.kind !== 'avg') throw new Error('expected avg');
    expect(avg.input.center).toBe(54);
    expect(avg.sensitivity.perGroup).toBe(36 * 5);
    expect(avg.countNoise.scale).toBeCloseTo(10 / 0.24, 9);
    expect(avg.sumNoise.epsilon).toBe(avg.countNoise.epsilon);
  });

  it('gives SUM of an integer metric with integer bounds a grid of 1', () => {
    const p = plan({
      aggregates: [{ alias: 'qty', kind: 'sum', clamp: { lower: -3, upper: 7 }, metricType: 'integer' }],
      partitionSelection: false,
    });
    const sum = p.aggregates[0];
    if (sum?.kind !== 'sum') throw new Error('expected sum');
    expect(sum.input.granularity).toBe(1);
    expect(sum.input.perRowSteps).toBe(7n);
    expect(p.cost).toEqual({ epsilonSpent: 1.2, deltaSpent: 0 });
  });

  it('shares delta over partition selection and every Gaussian statistic', () => {
    const p = plan({ mechanism: 'gaussian' });
    expect(p.split.deltaShares).toBe(5);
    expect(p.split.deltaPerShare).toBeCloseTo(2e-7, 20);
    const count = p.aggregates[0];
    if (count?.kind !== 'count') throw new Error('expected count');
    expect(count.noise.mechanism).toBe('gaussian');
    expect(count.noise.delta).toBe(p.split.deltaPerShare);
    expect(p.cost).toEqual({ epsilonSpent: 1.2, deltaSpent: 1e-6 });
  });

  it('collects every problem of a bad request into one refusal (400, the first code)', () => {
    try {
      plan({
        epsilon: 9,
        delta: 0,
        contribution: { maxGroups: 0, maxRowsPerUnit: 1.5 },
        aggregates: [
          { alias: 'a', kind: 'sum', clamp: { lower: 5, upper: 5 } },
          { alias: 'a', kind: 'avg' },
          { alias: 'b', kind: 'sum', clamp: { lower: 0, upper: 1.5 }, metricType: 'integer' },
        ],
      });
      throw new Error('expected a refusal');
    } catch (error) {
      expect(error).toBeInstanceOf(RefusedError);
      expect((error as RefusedError).status).toBe(400);
      expect((error as RefusedError).code).toBe('DP_EPSILON_TOO_LARGE');
      const codes = (error as RefusedError).diagnostics.map((p) => p.code);
      expect(codes).toEqual([
        'DP_EPSILON_TOO_LARGE',
        'DP_DELTA_REQUIRED',
        'DP_INVALID_CONTRIBUTION_BOUNDS',
        'DP_INVALID_CLAMP_BOUNDS',
        'DP_DUPLICATE_ALIAS',
        'DP_INVALID_CLAMP_BOUNDS',
        'DP_INVALID_CLAMP_BOUNDS',
      ]);
    }
  });

  it('refuses an empty aggregate list', () => {
    expect(() => plan({ aggregates: [] })).toThrow(expect.objectContaining({ code: 'DP_NO_AGGREGATES' }));
  });
});

describe('releaseDpGroups: exact bounded aggregates in, noisy released groups out', () => {
  const p = plan({ epsilon: 3 });
  const sum = p.aggregates[1];
  if (sum?.kind !== 'sum') throw new Error('expected sum');
  const avg = p.aggregates[2];
  if (avg?.kind !== 'avg') throw new Error('expected avg');
  const steps = (x: number, center: number, granularity: number) => BigInt(Math.round((x - center) / granularity));

  const groups = [
    {
      key: 'lonely',
      privacyUnits: 1,
      values: {
        n: 1,
        spend: steps(100, 0, sum.input.granularity),
        age: { sumSteps: steps(40, 54, avg.input.granularity), count: 1 },
      },
    },
    {
      key: 'crowd',
      privacyUnits: 10_000n,
      values: {
        n: 30_000n,
        spend: 30_000n * steps(100, 0, sum.input.granularity),
        age: { sumSteps: 30_000n * steps(40, 54, avg.input.granularity), count: 30_000n },
      },
    },
  ];

  it('suppresses the one-person group, releases the large one with values near the truth', () => {
    const release = releaseDpGroups(p, groups, seededRandomSource(5));
    expect(release.suppressedCount).toBe(1);
    expect(release.groups.map((g) => g.key)).toEqual(['crowd']);
    const values = release.groups[0]?.values ?? {};
    expect(Math.abs((values.n ?? 0) - 30_000)).toBeLessThan(200);
    expect(Math.abs((values.spend ?? 0) - 3_000_000)).toBeLessThan(50_000);
    expect(Math.abs((values.age ?? 0) - 40)).toBeLessThan(1);
    expect(Number.isInteger((values.spend ?? 0.5) / sum.input.granularity)).toBe(true);
  });

  it('keeps an AVG inside its clamp however small the count', () => {
    const tiny = plan({ epsilon: 0.05, partitionSelection: false });
    const random = seededRandomSource(6);
    for (let i = 0; i < 200; i += 1) {
      const age =
        releaseDpGroups(
          tiny,
          [{ key: 0, privacyUnits: 1, values: { n: 1, spend: 0n, age: { sumSteps: 0n, count: 1 } } }],
          random,
        ).groups[0]?.values.age ?? Number.NaN;
      expect(age).toBeGreaterThanOrEqual(18);
      expect(age).toBeLessThanOrEqual(90);
    }
  });

  it('treats a non-integer exact value as a wiring bug', () => {
    const bad = [{ key: 0, privacyUnits: 5, values: { n: 2.5, spend: 0n, age: { sumSteps: 0n, count: 1 } } }];
    expect(() => releaseDpGroups(plan({ partitionSelection: false }), bad, seededRandomSource(1))).toThrow(/integer/);
  });
});
