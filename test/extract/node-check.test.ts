import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lattice, type LevelVector } from '../../src/extract/lattice.ts';
import { exhaustiveSearch, flashSearch } from '../../src/extract/lattice-search.ts';
import { decomposedLoss } from '../../src/extract/information-loss.ts';
import { nodeCheckTree, topLevels, type NodeCheck, type QuasiIdentifier } from '../../src/extract/node-check.ts';
import { columnRef, type SerializedSql, type SqlNode } from '../../src/query/sql-tree.ts';
import { openScratchEngine } from '../support/scratch-engine.ts';

let scratch: Awaited<ReturnType<typeof openScratchEngine>>;
beforeAll(async () => {
  scratch = await openScratchEngine('node-check');
});
afterAll(() => scratch?.close());

interface Person {
  readonly age: number;
  readonly zip: string;
  readonly sex: string;
}
const quasi: QuasiIdentifier[] = [
  {
    column: { name: 'age', type: 'INTEGER', class: 'quasi' },
    hierarchy: { bands: [5, 10, 20] },
    ref: columnRef(['p', 'age']),
  },
  {
    column: { name: 'zip', type: 'VARCHAR', class: 'quasi' },
    hierarchy: { prefix: [3, 1] },
    ref: columnRef(['p', 'zip']),
  },
  { column: { name: 'sex', type: 'VARCHAR', class: 'quasi' }, hierarchy: { groups: [] }, ref: columnRef(['p', 'sex']) },
];
// The same levels in JavaScript, as the test's own oracle.
const band = (v: number, w: number) => `${Math.floor(v / w) * w}-${Math.floor(v / w) * w + w - 1}`;
const jsLevels = (p: Person): string[][] => [
  [String(p.age), band(p.age, 5), band(p.age, 10), band(p.age, 20), '*'],
  [p.zip, `${p.zip.slice(0, 3)}*`, `${p.zip.slice(0, 1)}*`, '*'],
  [p.sex, '*'],
];
function jsCheck(people: readonly Person[], node: LevelVector, k: number): NodeCheck {
  const classes = new Map<string, number>();
  for (const p of people) {
    const key = jsLevels(p)
      .map((levels, i) => levels[node[i]!])
      .join('|');
    classes.set(key, (classes.get(key) ?? 0) + 1);
  }
  const sizes = [...classes.values()];
  const released = sizes.filter((n) => n >= k);
  return {
    suppressed: sizes.filter((n) => n < k).reduce((a, b) => a + b, 0),
    classes: sizes.length,
    smallest: released.length ? Math.min(...released) : 0,
    people: people.length,
  };
}

/** Runs one node's check in DuckDB over the people as a VALUES relation. */
async function duckCheck(people: readonly Person[], node: LevelVector, k: number): Promise<NodeCheck> {
  const rows = people.map((p) => `(${p.age}, '${p.zip}', '${p.sex}')`).join(', ');
  const { parser, engine } = scratch;
  const parsed = (await parser.parse(`SELECT 1 FROM (VALUES ${rows}) AS p(age, zip, sex)`)) as SerializedSql;
  const from = parsed.statements?.[0]?.node.from_table as SqlNode;
  const sql = await parser.render(nodeCheckTree(from, quasi, node, k), parsed);
  const [row] = (await engine.query(sql)).rows;
  const [suppressed, classes, smallest, total] = (row ?? []).map(Number);
  return { suppressed: suppressed!, classes: classes!, smallest: smallest!, people: total! };
}

const people = fc.array(
  fc.record({
    age: fc.integer({ min: 18, max: 90 }),
    zip: fc.constantFrom('10115', '10117', '10245', '20095', '80331'),
    sex: fc.constantFrom('f', 'm', 'x'),
  }),
  { minLength: 10, maxLength: 120 },
);

describe('the per-node check in DuckDB', () => {
  it('answers class sizes only, equal to a recount in JavaScript, at every node of generated populations', async () => {
    const lattice = new Lattice(topLevels(quasi));
    expect(lattice.topLevels).toEqual([4, 3, 1]);
    await fc.assert(
      fc.asyncProperty(people, fc.integer({ min: 2, max: 8 }), async (population, k) => {
        for (const node of lattice.nodes().filter((_, i) => i % 7 === 0))
          expect(await duckCheck(population, node, k)).toEqual(jsCheck(population, node, k));
      }),
      { numRuns: 15, seed: 3 },
    );
  });

  it('drives the search to the exhaustive optimum through DuckDB, checking fewer nodes', async () => {
    await fc.assert(
      fc.asyncProperty(people, fc.integer({ min: 2, max: 6 }), async (population, k) => {
        const lattice = new Lattice(topLevels(quasi));
        const limit = Math.floor(0.05 * population.length);
        const loss = decomposedLoss([
          [0, 1, 2, 3, 4],
          [0, 1, 2, 3],
          [0, 3],
        ]);
        let checked = 0;
        const check = async (node: LevelVector) => {
          checked += 1;
          return (await duckCheck(population, node, k)).suppressed <= limit;
        };
        const found = await flashSearch({ lattice, check, loss });
        const reference = await exhaustiveSearch({
          lattice,
          check: async (node) => jsCheck(population, node, k).suppressed <= limit,
          loss,
        });
        expect(found.optimum).toEqual(reference.optimum);
        expect(checked).toBeLessThan(lattice.size);
      }),
      { numRuns: 10, seed: 4 },
    );
  });
});
