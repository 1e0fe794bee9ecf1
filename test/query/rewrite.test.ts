import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planQuery } from '../../src/query/query-plan.ts';
import { rewriteTree } from '../../src/query/rewrite/tree-walker.ts';
import type { SerializedSql, SqlNode } from '../../src/query/sql-tree.ts';
import { openPlanner } from './support-planner.ts';

/**
 * Rewrites are copy-on-write: the parsed tree is never changed, every rewrite returns new objects,
 * and what planning returns is frozen. If a rewrite edited the tree it was given, a later copy
 * would silently lose it (the TRY_CAST and DOUBLE rewrites are the defences against error oracles).
 */
const cases = JSON.parse(await readFile('test/query/golden/expected.json', 'utf8')) as { name: string; sql: string }[];
let planner: Awaited<ReturnType<typeof openPlanner>>;

beforeAll(async () => {
  planner = await openPlanner();
});
afterAll(async () => planner.close());

const isDeeplyFrozen = (value: unknown): boolean =>
  typeof value !== 'object' || value === null || (Object.isFrozen(value) && Object.values(value).every(isDeeplyFrozen));

describe('copy-on-write rewrites', () => {
  it(
    'planning leaves the parsed tree exactly as parsed, and returns a frozen tree, for every golden case ' +
      'in both modes',
    async () => {
      let planned = 0;
      for (const c of cases) {
        for (const mode of ['threshold', 'dp'] as const) {
          const serialized = JSON.parse(await planner.engine.serialize(c.sql)) as SerializedSql;
          const before = JSON.stringify(serialized);
          const plan = planQuery(planner.collaboration, c.sql, serialized, { adHoc: true, mode });
          expect(JSON.stringify(serialized), c.name).toBe(before);
          if (!plan.ok) continue;
          planned += 1;
          expect(isDeeplyFrozen(plan.tree), c.name).toBe(true);
          expect(() => {
            (plan.tree as Record<string, unknown>).select_list = [];
          }).toThrow(TypeError);
        }
      }
      expect(planned).toBeGreaterThan(20);
    },
  );

  it('a rewrite sees the originals, returns new objects, keeps shared subtrees shared, and freezes the result', () => {
    const shared: SqlNode = { class: 'CONSTANT', value: 1 };
    const root: SqlNode = { class: 'ROOT', left: { class: 'WRAP', child: shared }, right: shared };
    const seen: SqlNode[] = [];
    const result = rewriteTree(root, [
      {
        visit: (original, copy) => {
          seen.push(original);
          return original === shared ? { ...copy, value: 2 } : copy;
        },
      },
    ]);
    expect(root).toEqual({
      class: 'ROOT',
      left: { class: 'WRAP', child: { class: 'CONSTANT', value: 1 } },
      right: { class: 'CONSTANT', value: 1 },
    });
    expect(result.tree).toEqual({
      class: 'ROOT',
      left: { class: 'WRAP', child: { class: 'CONSTANT', value: 2 } },
      right: { class: 'CONSTANT', value: 2 },
    });
    expect((result.tree.left as SqlNode).child).toBe(result.tree.right);
    expect(seen.filter((n) => n === shared)).toHaveLength(1);
    expect(result.rewrite(shared)).toBe(result.tree.right);
    expect(isDeeplyFrozen(result.tree)).toBe(true);
    expect(Object.isFrozen(root)).toBe(false);
  });
});
