import { describe, expect, it } from 'vitest';
import { laplaceMechanism } from '../../src/privacy/mechanisms.ts';
import { planPartitionSelection, selectPartitions } from '../../src/privacy/partition-selection.ts';
import { seededRandomSource } from '../support/seeded-random-source.ts';

function histogram(values: number[]): Map<number, number> {
  const counts = new Map<number, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return counts;
}

describe('differencing: two databases that differ by one person', () => {
  const epsilon = 0.5;
  const draws = 100_000;
  const random = seededRandomSource(7);
  // COUNT(DISTINCT person) over D and over D plus one person.
  const release = (count: number): number[] =>
    Array.from(
      { length: draws },
      () => laplaceMechanism({ value: count, l1Sensitivity: 1, epsilon, random, domain: 'integer' }).value,
    );
  const without = histogram(release(100));
  const withPerson = histogram(release(101));

  const losses: { loss: number; error: number }[] = [];
  for (const [output, a] of without) {
    const b = withPerson.get(output) ?? 0;
    if (a < 1000 || b < 1000) continue;
    // Sampling error of a log-ratio of two counts: sqrt(1/a + 1/b) standard deviations.
    losses.push({ loss: Math.log(a / b), error: Math.sqrt(1 / a + 1 / b) });
  }

  it('compares enough outputs to mean something', () => {
    expect(losses.length).toBeGreaterThanOrEqual(10);
  });

  it('keeps the empirical privacy loss within epsilon plus sampling error at every output', () => {
    for (const { loss, error } of losses) expect(Math.abs(loss)).toBeLessThanOrEqual(epsilon + 4 * error);
  });

  it('actually reaches about epsilon, as the discrete Laplace mechanism predicts (the bound is tight)', () => {
    const largest = losses.reduce((best, l) => (Math.abs(l.loss) > Math.abs(best.loss) ? l : best));
    expect(Math.abs(largest.loss)).toBeGreaterThanOrEqual(epsilon - 4 * largest.error);
  });

  it('hides a group that only the extra person forms, except with probability at most delta', () => {
    const plan = planPartitionSelection({ epsilon: 1, delta: 1e-5, maxGroups: 1 });
    const groups = Array.from({ length: 50_000 }, (_, i) => ({ key: i, privacyUnits: 1 }));
    expect(selectPartitions(groups, plan, random).released).toHaveLength(0);
  });
});
