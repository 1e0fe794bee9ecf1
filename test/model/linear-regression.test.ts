import fc from 'fast-check';
import { Matrix, pseudoInverse, QrDecomposition } from 'ml-matrix';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fitLinear } from '../../src/model/linear-regression.ts';
import { pseudoInverseSymmetric } from '../../src/model/linear-algebra.ts';
import {
  maxLeverageTree,
  readSufficientStatistics,
  sufficientStatisticsTree,
} from '../../src/model/sufficient-statistics.ts';
import { columnRef, type SerializedSql, type SqlNode } from '../../src/query/sql-tree.ts';
import { openScratchEngine } from '../support/scratch-engine.ts';

let scratch: Awaited<ReturnType<typeof openScratchEngine>>;
beforeAll(async () => {
  scratch = await openScratchEngine('linear-regression');
});
afterAll(() => scratch?.close());

/** A seeded uniform source (mulberry32) for synthetic rows. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** n rows of d features in [-1, 1] and y = β0 + Σ βi xi + noise, with some NULL features (dropped). */
function synthetic(n: number, beta: readonly number[], noise: number, seed: number) {
  const random = seeded(seed);
  return Array.from({ length: n }, (_, r) => {
    const x = beta.slice(1).map(() => random() * 2 - 1);
    const y = (beta[0] ?? 0) + x.reduce((s, v, i) => s + v * (beta[i + 1] ?? 0), 0) + (random() * 2 - 1) * noise;
    return { x: r % 97 === 0 ? x.map((v, i) => (i === 0 ? null : v)) : x, y };
  });
}

async function statsInDuckDb(rows: ReturnType<typeof synthetic>, d: number) {
  const values = rows.map((r) => `(${[...r.x.map((v) => (v === null ? 'NULL' : String(v))), String(r.y)].join(', ')})`);
  const names = Array.from({ length: d }, (_, i) => `x${i}`);
  const { parser, engine } = scratch;
  const parsed = (await parser.parse(
    `SELECT 1 FROM (VALUES ${values.join(', ')}) AS v(${[...names, 'y'].join(', ')})`,
  )) as SerializedSql;
  const from = parsed.statements?.[0]?.node.from_table as SqlNode;
  const tree = sufficientStatisticsTree(
    from,
    names.map((n) => ({ value: columnRef(['v', n]), bounds: [-1, 1] as const })),
    { value: columnRef(['v', 'y']), bounds: [-100, 100] },
    true,
  );
  const [row] = (await engine.query(await parser.render(tree, parsed))).rows;
  return readSufficientStatistics(row ?? [], d + 1);
}

describe('linear regression from one DuckDB pass of sufficient statistics', () => {
  it('recovers known coefficients, equal to a QR least-squares solve of the raw rows', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.double({ min: -5, max: 5, noNaN: true }), { minLength: 2, maxLength: 6 }),
        fc.integer({ min: 1, max: 1000 }),
        async (beta, seed) => {
          const rows = synthetic(1500, beta, 0.05, seed);
          const stats = await statsInDuckDb(rows, beta.length - 1);
          const complete = rows.filter((r) => r.x.every((v) => v !== null));
          expect(stats.n).toBe(complete.length);
          const fit = fitLinear(stats, { intercept: true });
          expect(fit.method).toBe('cholesky');
          // The independent oracle: QR on the design matrix itself, never the normal equations.
          const design = new Matrix(complete.map((r) => [1, ...(r.x as number[])]));
          const qr = new QrDecomposition(design).solve(Matrix.columnVector(complete.map((r) => r.y))).to1DArray();
          fit.coefficients.forEach((b, i) => expect(b).toBeCloseTo(qr[i]!, 8));
          // And near the truth: noise ±0.05 over 1,500 rows.
          fit.coefficients.forEach((b, i) => expect(Math.abs(b - beta[i]!)).toBeLessThan(0.02));
          expect(fit.r2).toBeGreaterThan(beta.slice(1).some((b) => Math.abs(b) > 0.5) ? 0.9 : -Infinity);
        },
      ),
      { numRuns: 12, seed: 11 },
    );
  });

  it('clips every feature and the label to its declared bounds before summing', async () => {
    const rows = [
      { x: [5], y: 1000 },
      { x: [-3], y: -7 },
      { x: [0.5], y: 2 },
    ];
    const stats = await statsInDuckDb(rows, 1);
    // x clipped to [-1, 1], y to [-100, 100]: Σx = 1 − 1 + 0.5, Σxy = 100 + 7 + 1, Σy² = 10000 + 49 + 4.
    expect(stats.xty).toEqual([100 - 7 + 2, 100 + 7 + 1]);
    expect(stats.xtx).toEqual([
      [3, 0.5],
      [0.5, 2.25],
    ]);
    expect(stats.yty).toBe(10053);
  });

  it('falls back to the smallest ridge that solves a singular design (a duplicated feature)', () => {
    // x2 = x1: X'X is singular; the ridge solution splits the weight evenly.
    const rows = Array.from({ length: 50 }, (_, i) => ({ x1: i / 50, y: 1 + (2 * i) / 50 }));
    const x = rows.map((r) => [1, r.x1, r.x1]);
    const xtx = [0, 1, 2].map((i) => [0, 1, 2].map((j) => x.reduce((s, row) => s + row[i]! * row[j]!, 0)));
    const xty = [0, 1, 2].map((i) => x.reduce((s, row, r) => s + row[i]! * rows[r]!.y, 0));
    const yty = rows.reduce((s, r) => s + r.y * r.y, 0);
    const fit = fitLinear({ n: rows.length, xtx, xty, yty }, { intercept: true });
    expect(fit.method).toBe('ridge');
    expect(fit.coefficients[0]).toBeCloseTo(1, 5);
    expect(fit.coefficients[1]).toBeCloseTo(1, 5);
    expect(fit.coefficients[2]).toBeCloseTo(1, 5);
    expect(fit.r2).toBeCloseTo(1, 8);
  });
});

describe('leverage, for the exact models’ rule against a row set apart', () => {
  it('computes max x′(X′X)⁺x in one pass, equal to the raw rows’ in JS, within ‖x‖²/λ⁺ (collinear too)', async () => {
    const { parser, engine } = scratch;
    for (const [seed, apart] of [
      [1, false],
      [2, true],
    ] as const) {
      const random = seeded(seed);
      // 300 rows of two features in [-1, 1]; a third column repeating the first (X′X singular); with
      // `apart`, one row alone with its second feature off the others' 0.
      const rows = Array.from({ length: 300 }, (_, r) => {
        const a = random() * 2 - 1;
        const b = apart ? (r === 17 ? 1 : 0) : random() * 2 - 1;
        return [a, b, a];
      });
      const parsed = (await parser.parse(
        `SELECT 1 FROM (VALUES ${rows.map((r) => `(${r.join(', ')}, 0)`).join(', ')}) AS v(x0, x1, x2, y)`,
      )) as SerializedSql;
      const from = parsed.statements?.[0]?.node.from_table as SqlNode;
      const features = ['x0', 'x1', 'x2'].map((n) => ({ value: columnRef(['v', n]), bounds: [-1, 1] as const }));
      const stats = readSufficientStatistics(
        (
          await engine.query(
            await parser.render(
              sufficientStatisticsTree(from, features, { value: columnRef(['v', 'y']), bounds: [-1, 1] }, true),
              parsed,
            ),
          )
        ).rows[0] ?? [],
        4,
      );
      const { inverse, smallestPositive } = pseudoInverseSymmetric(stats.xtx);
      const [row] = (
        await engine.query(await parser.render(maxLeverageTree(from, features, columnRef(['v', 'y']), inverse), parsed))
      ).rows;
      // The oracle: the hat matrix's diagonal from a least-squares solve of the raw rows in JS.
      const x = new Matrix(rows.map((r) => [1, ...r]));
      const pinv = new Matrix(pseudoInverse(x.transpose().mmul(x)).to2DArray());
      const leverages = rows.map((_, i) => {
        const xi = x.getRowVector(i);
        return xi.mmul(pinv).mmul(xi.transpose()).get(0, 0);
      });
      const largest = Math.max(...leverages);
      expect(Number(row?.[0])).toBeCloseTo(largest, 9);
      expect(largest).toBeLessThanOrEqual(4 / smallestPositive);
      // The row set apart is fitted to its own label; spread rows each weigh a few hundredths at most.
      if (apart) expect(largest).toBeCloseTo(1, 9);
      else expect(largest).toBeLessThan(0.05);
      // Rank: the repeated column adds nothing (three directions: 1, x0, x1).
      expect(leverages.reduce((s, h) => s + h, 0)).toBeCloseTo(3, 6);
    }
  });
});
