import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fitLogistic, logisticPassTree, readLogisticPass } from '../../src/model/logistic-regression.ts';
import { columnRef, type SerializedSql, type SqlNode } from '../../src/query/sql-tree.ts';
import { openScratchEngine } from '../support/scratch-engine.ts';
import { seededRandomSource } from '../support/seeded-random-source.ts';

let scratch: Awaited<ReturnType<typeof openScratchEngine>>;
beforeAll(async () => {
  scratch = await openScratchEngine('logistic-regression');
});
afterAll(() => scratch?.close());

const BETA = [-0.5, 1.5, -2, 0.75];
/** n rows: 3 features uniform in [-1, 1], y ~ Bernoulli(σ(β·[1, x])). */
function synthetic(n: number, seed: number) {
  const random = seededRandomSource(seed);
  const uniform = () => Number(random.uniformBigInt(1n << 32n)) / 2 ** 32;
  return Array.from({ length: n }, () => {
    const x = [uniform() * 2 - 1, uniform() * 2 - 1, uniform() * 2 - 1];
    const eta = BETA[0]! + x.reduce((s, v, i) => s + v * BETA[i + 1]!, 0);
    return { x, y: uniform() < 1 / (1 + Math.exp(-eta)) ? 1 : 0 };
  });
}

describe('logistic regression by IRLS, one DuckDB pass per Newton step', () => {
  it('reaches the optimum of the raw rows’ penalised log-loss in a few passes, near the true β', async () => {
    const rows = synthetic(3000, 5);
    const { parser, engine } = scratch;
    const values = rows.map((r) => `(${[...r.x, r.y].join(', ')})`).join(', ');
    const parsed = (await parser.parse(`SELECT 1 FROM (VALUES ${values}) AS v(a, b, c, y)`)) as SerializedSql;
    const from = parsed.statements?.[0]?.node.from_table as SqlNode;
    const features = ['a', 'b', 'c'].map((n) => ({ value: columnRef(['v', n]), bounds: [-1, 1] as const }));
    const visited: (readonly number[])[] = [];
    const fit = await fitLogistic(
      4,
      async (beta) => {
        visited.push(beta);
        const tree = logisticPassTree(from, features, columnRef(['v', 'y']), true, beta);
        const [row] = (await engine.query(await parser.render(tree, parsed))).rows;
        return readLogisticPass(row ?? [], 4);
      },
      { intercept: true, ridge: 1e-6 },
    );
    expect(fit.converged).toBe(true);
    expect(fit.passes).toBeLessThanOrEqual(8);
    // Each Newton step lowered the log-loss of the raw rows (computed here, in JavaScript).
    const loss = (beta: readonly number[]) =>
      rows.reduce((s, r) => {
        const p = 1 / (1 + Math.exp(-[1, ...r.x].reduce((t, v, i) => t + v * beta[i]!, 0)));
        return s - (r.y * Math.log(p) + (1 - r.y) * Math.log(1 - p));
      }, 0);
    const losses = visited.map(loss);
    expect(losses.length).toBe(fit.passes);
    losses.slice(1).forEach((loss, i) => expect(loss).toBeLessThanOrEqual(losses[i]! + 1e-12));
    // The independent check: the gradient of the penalised log-loss over the raw rows, in JavaScript, is ~0.
    const gradient = [0, 0, 0, 0];
    for (const r of rows) {
      const x = [1, ...r.x];
      const p = 1 / (1 + Math.exp(-x.reduce((s, v, i) => s + v * fit.coefficients[i]!, 0)));
      x.forEach((v, i) => (gradient[i]! += (p - r.y) * v));
    }
    gradient.forEach((g, i) => expect(Math.abs(g + (i > 0 ? 1e-6 * fit.coefficients[i]! : 0))).toBeLessThan(1e-6));
    // And near the truth at n = 3,000.
    fit.coefficients.forEach((b, i) => expect(Math.abs(b - BETA[i]!)).toBeLessThan(0.3));
  });
});
