import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lattice, type LevelVector } from '../../src/extract/lattice.ts';
import { exhaustiveSearch, flashSearch } from '../../src/extract/lattice-search.ts';
import { decomposedLoss } from '../../src/extract/information-loss.ts';
import {
  nodeCheckTree,
  readNodeCheck,
  topLevels,
  type NodeCheck,
  type QuasiIdentifier,
} from '../../src/extract/node-check.ts';
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
  /** a sensitive attribute, for l-diversity */
  readonly tier: string;
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
function jsCheck(
  people: readonly Person[],
  node: LevelVector,
  k: number,
  diversity?: JsDiversity,
  t?: number,
): NodeCheck {
  const classes = new Map<string, Person[]>();
  for (const p of people) {
    const key = jsLevels(p)
      .map((levels, i) => levels[node[i]!])
      .join('|');
    classes.set(key, [...(classes.get(key) ?? []), p]);
  }
  const histogram = (members: readonly Person[]) => {
    const counts = new Map<string, number>();
    for (const m of members) counts.set(m.tier, (counts.get(m.tier) ?? 0) + 1);
    return counts;
  };
  const whole = histogram(people);
  const lOf = (members: readonly Person[]) => {
    const counts = histogram(members);
    if (diversity?.kind === 'distinct') return counts.size;
    return [...counts.values()].reduce((h, c) => h - (c / members.length) * Math.log2(c / members.length), 0);
  };
  // Earth mover's distance with every pair of values 1 apart: half the L1 distance of the histograms.
  const emd = (members: readonly Person[]) => {
    const counts = histogram(members);
    let sum = 0;
    for (const [value, c] of whole) sum += Math.abs((counts.get(value) ?? 0) / members.length - c / people.length);
    return sum / 2;
  };
  const fails = (members: readonly Person[]) => {
    if (members.length < k) return true;
    if (t !== undefined && emd(members) > t) return true;
    if (!diversity) return false;
    return diversity.kind === 'distinct' ? lOf(members) < diversity.l : lOf(members) < Math.log2(diversity.l);
  };
  const groups = [...classes.values()];
  const released = groups.filter((g) => !fails(g));
  const lowestL = released.length ? Math.min(...released.map(lOf)) : undefined;
  return {
    suppressed: groups.filter(fails).reduce((a, g) => a + g.length, 0),
    classes: groups.length,
    smallest: released.length ? Math.min(...released.map((g) => g.length)) : 0,
    people: people.length,
    ...(diversity && lowestL !== undefined ? { diversity: diversity.kind === 'entropy' ? 2 ** lowestL : lowestL } : {}),
    ...(t !== undefined && released.length ? { closeness: Math.max(...released.map(emd)) } : {}),
  };
}
interface JsDiversity {
  readonly l: number;
  readonly kind: 'distinct' | 'entropy';
}

/** Runs one node's check in DuckDB over the people as a VALUES relation. */
async function duckCheck(
  people: readonly Person[],
  node: LevelVector,
  k: number,
  diversity?: JsDiversity,
  t?: number,
): Promise<NodeCheck> {
  const rows = people.map((p) => `(${p.age}, '${p.zip}', '${p.sex}', '${p.tier}')`).join(', ');
  const { parser, engine } = scratch;
  const parsed = (await parser.parse(`SELECT 1 FROM (VALUES ${rows}) AS p(age, zip, sex, tier)`)) as SerializedSql;
  const from = parsed.statements?.[0]?.node.from_table as SqlNode;
  const tier = columnRef(['p', 'tier']);
  const criteria = {
    k,
    ...(diversity ? { diversity: { ...diversity, ref: tier } } : {}),
    ...(t !== undefined ? { closeness: { ref: tier, t } } : {}),
  };
  const sql = await parser.render(nodeCheckTree(from, quasi, node, criteria), parsed);
  const [row] = (await engine.query(sql)).rows;
  return readNodeCheck(row ?? [], criteria);
}

/** Equal up to rounding in the last bits of the achieved l and t (DuckDB sums in another order). */
function expectSameCheck(actual: NodeCheck, expected: NodeCheck): void {
  const { diversity, closeness, ...sizes } = actual;
  const { diversity: expectedDiversity, closeness: expectedCloseness, ...expectedSizes } = expected;
  expect(sizes).toEqual(expectedSizes);
  if (expectedDiversity === undefined) expect(diversity).toBeUndefined();
  else expect(diversity).toBeCloseTo(expectedDiversity, 9);
  if (expectedCloseness === undefined) expect(closeness).toBeUndefined();
  else expect(closeness).toBeCloseTo(expectedCloseness, 9);
}

const people = fc.array(
  fc.record({
    age: fc.integer({ min: 18, max: 90 }),
    zip: fc.constantFrom('10115', '10117', '10245', '20095', '80331'),
    sex: fc.constantFrom('f', 'm', 'x'),
    // Skewed, as loyalty tiers are: most classes are mostly 'none', so entropy sits near the bound.
    tier: fc.constantFrom('none', 'none', 'none', 'none', 'none', 'none', 'none', 'silver', 'gold'),
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

  it('suppresses classes that fail distinct or entropy l-diversity too, as a recount does', async () => {
    const lattice = new Lattice(topLevels(quasi));
    let diversityMattered = 0;
    await fc.assert(
      fc.asyncProperty(
        people,
        fc.integer({ min: 2, max: 5 }),
        fc.constantFrom<JsDiversity>(
          { kind: 'distinct', l: 2 },
          { kind: 'distinct', l: 3 },
          { kind: 'entropy', l: 1.3 },
          { kind: 'entropy', l: 1.6 },
        ),
        async (population, k, diversity) => {
          for (const node of lattice.nodes().filter((_, i) => i % 3 === 0)) {
            const expected = jsCheck(population, node, k, diversity);
            expectSameCheck(await duckCheck(population, node, k, diversity), expected);
            if (expected.suppressed > jsCheck(population, node, k).suppressed) diversityMattered += 1;
          }
        },
      ),
      { numRuns: 25, seed: 6 },
    );
    // The property must have met classes that k alone would have released.
    expect(diversityMattered).toBeGreaterThan(20);
  });

  it('suppresses classes farther than t from the whole (with and without l), as a recount does', async () => {
    const lattice = new Lattice(topLevels(quasi));
    let closenessMattered = 0;
    await fc.assert(
      fc.asyncProperty(
        people,
        fc.integer({ min: 2, max: 5 }),
        fc.constantFrom(0.05, 0.15, 0.3),
        fc.constantFrom<JsDiversity | undefined>(undefined, { kind: 'distinct', l: 2 }, { kind: 'entropy', l: 1.3 }),
        async (population, k, t, diversity) => {
          for (const node of lattice.nodes().filter((_, i) => i % 3 === 1)) {
            const expected = jsCheck(population, node, k, diversity, t);
            expectSameCheck(await duckCheck(population, node, k, diversity, t), expected);
            if (expected.suppressed > jsCheck(population, node, k, diversity).suppressed) closenessMattered += 1;
            if (expected.closeness !== undefined) expect(expected.closeness).toBeLessThanOrEqual(t);
          }
        },
      ),
      { numRuns: 12, seed: 8 },
    );
    expect(closenessMattered).toBeGreaterThan(20);
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
