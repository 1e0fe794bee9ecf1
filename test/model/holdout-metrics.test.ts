import { describe, expect, it } from 'vitest';
import {
  holdoutAuc,
  linearHoldoutMetrics,
  logisticHoldoutMetrics,
  MIN_AUC_CLASS,
  privateLinearHoldoutMetrics,
  privateLogisticHoldoutMetrics,
  type LogisticHoldoutSums,
} from '../../src/model/holdout-metrics.ts';
import { seededRandomSource } from '../support/seeded-random-source.ts';

interface Scored {
  readonly y: 0 | 1;
  readonly score: number;
  readonly n: number;
  readonly correct: number;
  readonly loss: number;
}

/** The room's one-row sums of scored people, with average ranks computed here by sorting. */
function sums(people: readonly Scored[]): LogisticHoldoutSums {
  const sorted = [...people].sort((a, b) => a.score - b.score);
  let positiveRankSum = 0;
  for (let i = 0; i < sorted.length;) {
    let j = i;
    while (j < sorted.length && sorted[j]!.score === sorted[i]!.score) j += 1;
    const average = (i + 1 + j) / 2;
    for (let k = i; k < j; k += 1) if (sorted[k]!.y === 1) positiveRankSum += average;
    i = j;
  }
  const total = (pick: (s: Scored) => number) => people.reduce((t, s) => t + pick(s), 0);
  return {
    positives: total((s) => s.y),
    negatives: total((s) => 1 - s.y),
    correct: total((s) => s.correct),
    loss: total((s) => s.loss),
    positiveRankSum,
  };
}

/** A holdout of `positives` and `negatives` people with scores drawn so the true AUC is known. */
function holdout(positives: number, negatives: number, seed: number): Scored[] {
  const random = seededRandomSource(seed);
  const uniform = () => Number(random.uniformBigInt(2n ** 32n)) / 2 ** 32;
  const cells: Scored[] = [];
  // Positives score uniformly in [0.3, 1), negatives in [0, 0.7): P(pos > neg) = 1 − 0.5·0.4²/0.7² ≈ 0.837.
  for (let i = 0; i < positives; i += 1)
    cells.push({ y: 1, score: 0.3 + 0.7 * uniform(), n: 1, correct: 0, loss: 0.5 });
  for (let i = 0; i < negatives; i += 1) cells.push({ y: 0, score: 0.7 * uniform(), n: 1, correct: 1, loss: 0.2 });
  return cells;
}

const stdev = (values: readonly number[]) => {
  const mean = values.reduce((s, v) => s + v, 0) / values.length;
  return Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / values.length);
};

describe('holdout AUC', () => {
  it('from rank sums counts ranked pairs exactly, ties as half, against a quadratic recount', () => {
    const cells = holdout(300, 500, 7).map((c) => ({ ...c, score: Math.round(c.score * 20) / 20 }));
    let wins = 0;
    for (const a of cells)
      if (a.y === 1)
        for (const b of cells) if (b.y === 0) wins += a.score > b.score ? 1 : a.score === b.score ? 0.5 : 0;
    expect(holdoutAuc(sums(cells))).toBeCloseTo(wins / (300 * 500), 12);
    expect(holdoutAuc(sums(cells.filter((c) => c.y === 1)))).toBeUndefined();
  });
});

describe('DP holdout metrics', () => {
  it('withholds the AUC without δ, and when a class is too small for its noise; says why', () => {
    const big = holdout(2000, 3000, 1);
    const noDelta = privateLogisticHoldoutMetrics(sums(big), { epsilon: 1, delta: 0 }, seededRandomSource(2));
    expect(noDelta.auc).toBeUndefined();
    expect(noDelta.withheld?.auc).toMatch(/dp\.delta/);
    const small = privateLogisticHoldoutMetrics(
      sums(holdout(MIN_AUC_CLASS, 3000, 3)),
      { epsilon: 1, delta: 1e-6 },
      seededRandomSource(4),
    );
    expect(small.auc).toBeUndefined();
    expect(small.withheld?.auc).toMatch(/too few positives/);
    const released = privateLogisticHoldoutMetrics(sums(big), { epsilon: 1, delta: 1e-6 }, seededRandomSource(5));
    expect(released.withheld).toBeUndefined();
    expect(Math.abs(released.auc! - holdoutAuc(sums(big))!)).toBeLessThan(0.05);
  });

  it('AUC noise is about 1/(min(P, N)·ε/4): it shrinks with the smaller class and with ε', () => {
    const spread = (positives: number, epsilon: number) => {
      const cells = holdout(positives, 5000, 11);
      const summed = sums(cells);
      const exact = holdoutAuc(summed)!;
      return stdev(
        Array.from(
          { length: 100 },
          (_, i) =>
            privateLogisticHoldoutMetrics(summed, { epsilon, delta: 1e-6 }, seededRandomSource(100 + i)).auc! - exact,
        ),
      );
    };
    const base = spread(500, 1);
    // Laplace of scale 1/(m·ε/4) has standard deviation √2·4/(m·ε), with m a little under 500.
    expect(base).toBeGreaterThan((Math.SQRT2 * 4) / 500 / 1.3);
    expect(base).toBeLessThan(((Math.SQRT2 * 4) / 400) * 1.3);
    expect(spread(2000, 1)).toBeLessThan(base / 2.5);
    expect(spread(500, 4)).toBeLessThan(base / 2.5);
  });

  it('noisy accuracy, log-loss and counts centre on the exact ones', () => {
    const cells = holdout(2000, 3000, 21);
    const summed = sums(cells);
    const exact = logisticHoldoutMetrics(summed);
    expect(exact).toMatchObject({ people: 5000, positives: 2000, accuracy: 0.6 });
    expect(exact.logLoss).toBeCloseTo((2000 * 0.5 + 3000 * 0.2) / 5000, 12);
    const runs = Array.from({ length: 200 }, (_, i) =>
      privateLogisticHoldoutMetrics(summed, { epsilon: 1, delta: 1e-6 }, seededRandomSource(500 + i)),
    );
    const mean = (pick: (m: (typeof runs)[number]) => number) => runs.reduce((s, m) => s + pick(m), 0) / runs.length;
    expect(mean((m) => m.people)).toBeCloseTo(5000, -1);
    expect(mean((m) => m.accuracy!)).toBeCloseTo(0.6, 2);
    expect(mean((m) => m.logLoss!)).toBeCloseTo(exact.logLoss!, 2);
    expect(new Set(runs.map((m) => m.people)).size).toBeGreaterThan(10);
  });

  it('linear: R² and RMSE from noisy sums, error shrinking with ε', () => {
    // 10,000 people, y in [0, 10]: Σy = 50,000, Σy² = 330,000 (variance 8), SSE = 20,000 (R² = 0.75).
    const sums = { n: 10_000, sumY: 50_000, sumY2: 330_000, sse: 20_000 };
    const exact = linearHoldoutMetrics(sums);
    expect(exact.r2).toBeCloseTo(0.75, 12);
    expect(exact.rmse).toBeCloseTo(Math.sqrt(2), 12);
    const error = (epsilon: number) =>
      stdev(
        Array.from(
          { length: 200 },
          (_, i) => privateLinearHoldoutMetrics(sums, [0, 10], epsilon, seededRandomSource(900 + i)).r2! - 0.75,
        ),
      );
    expect(error(1)).toBeLessThan(0.05);
    expect(error(10)).toBeLessThan(error(1) / 4);
  });
});
