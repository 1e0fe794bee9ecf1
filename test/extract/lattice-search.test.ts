import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decomposedLoss,
  lossMetricByLevel,
  nonUniformEntropyByLevel,
  type AttributeDomain,
} from '../../src/extract/information-loss.ts';
import { Lattice, type LevelVector } from '../../src/extract/lattice.ts';
import { exhaustiveSearch, flashSearch, type LatticeSearch } from '../../src/extract/lattice-search.ts';

/** Counts calls, so that a test can say how many nodes the search checked. */
const counted = (check: (node: LevelVector) => boolean) => {
  const seen: string[] = [];
  return {
    seen,
    check: async (node: LevelVector) => {
      seen.push(node.join(','));
      return check(node);
    },
  };
};

describe('the generalisation lattice', () => {
  it('holds every level vector once, finest first, with one-step successors and predecessors', () => {
    const lattice = new Lattice([2, 1]);
    expect(lattice.size).toBe(6);
    expect(lattice.nodes()).toEqual([
      [0, 0],
      [0, 1],
      [1, 0],
      [1, 1],
      [2, 0],
      [2, 1],
    ]);
    expect(lattice.successors([1, 0])).toEqual([
      [2, 0],
      [1, 1],
    ]);
    expect(lattice.predecessors([1, 1])).toEqual([
      [0, 1],
      [1, 0],
    ]);
    expect(lattice.successors(lattice.top)).toEqual([]);
    expect(lattice.generalises([2, 1], [1, 1])).toBe(true);
    expect(lattice.generalises([2, 0], [1, 1])).toBe(false);
    expect(() => new Lattice([])).toThrow(RangeError);
  });
});

describe('Flash-style search', () => {
  // Any monotone predicate is "coarser than one of these minimal nodes"; any decomposed loss is a
  // per-attribute non-decreasing cost per level (small integers, so that ties happen).
  const problems = fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 1, maxLength: 4 }).chain((tops) =>
    fc.record({
      tops: fc.constant(tops),
      minimal: fc.array(fc.tuple(...tops.map((t) => fc.integer({ min: 0, max: t }))), { maxLength: 3 }),
      steps: fc.tuple(...tops.map((t) => fc.array(fc.integer({ min: 0, max: 3 }), { minLength: t, maxLength: t }))),
    }),
  );

  it('finds the optimum an exhaustive scan finds, and knows every node, on 1,000 generated lattices', async () => {
    let checkedTotal = 0;
    let nodesTotal = 0;
    await fc.assert(
      fc.asyncProperty(problems, async ({ tops, minimal, steps }) => {
        const lattice = new Lattice(tops);
        const meets = (node: LevelVector) => minimal.some((m) => lattice.generalises(node, m));
        const byLevel = steps.map((s) => s.reduce<number[]>((acc, step) => [...acc, (acc.at(-1) ?? 0) + step], [0]));
        const loss = decomposedLoss(byLevel);
        const flash = counted(meets);
        const search: LatticeSearch = { lattice, check: flash.check, loss };
        const found = await flashSearch(search);
        const reference = await exhaustiveSearch({ lattice, check: async (n) => meets(n), loss });
        expect(found.optimum).toEqual(reference.optimum);
        expect(found.loss).toEqual(reference.loss);
        expect(found.satisfying).toBe(lattice.nodes().filter(meets).length);
        expect(found.checked).toBe(flash.seen.length);
        expect(new Set(flash.seen).size).toBe(flash.seen.length); // no node checked twice
        checkedTotal += found.checked;
        nodesTotal += lattice.size;
      }),
      { numRuns: 1000, seed: 2012 },
    );
    // Predictive tagging must save checks overall, not merely be correct.
    expect(checkedTotal).toBeLessThan(nodesTotal * 0.6);
  });

  it('checks a handful of the 625 nodes of a 5×5×5×5 lattice', async () => {
    const lattice = new Lattice([4, 4, 4, 4]);
    const meets = (node: LevelVector) => node[0]! + node[1]! >= 3 && node[2]! >= 1 && node[3]! >= 2;
    const flash = counted(meets);
    const loss = decomposedLoss([0, 1, 2, 3].map(() => [0, 1, 2, 3, 4]));
    const found = await flashSearch({ lattice, check: flash.check, loss });
    expect(found.optimum).toEqual((await exhaustiveSearch({ lattice, check: async (n) => meets(n), loss })).optimum);
    expect(found.loss).toBeCloseTo(6 / 16);
    expect(found.checked).toBeLessThan(100);
  });

  it('reports no optimum when no node meets the rules, having checked only the top', async () => {
    const lattice = new Lattice([3, 3]);
    const flash = counted(() => false);
    const found = await flashSearch({
      lattice,
      check: flash.check,
      loss: decomposedLoss([
        [0, 1, 2, 3],
        [0, 1, 2, 3],
      ]),
    });
    expect(found).toMatchObject({ optimum: undefined, loss: undefined, satisfying: 0 });
    expect(flash.seen).toContain('3,3');
    expect(found.checked).toBeLessThanOrEqual(3);
  });

  it('reports progress as it goes', async () => {
    const lattice = new Lattice([2, 2]);
    const seen: number[] = [];
    await flashSearch({
      lattice,
      check: async (n) => n[0]! >= 1,
      loss: decomposedLoss([
        [0, 1, 2],
        [0, 1, 2],
      ]),
      onProgress: (p) => seen.push(p.known),
    });
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.at(-1)).toBe(lattice.size);
    expect([...seen].sort((a, b) => a - b)).toEqual(seen);
  });
});

describe('k-anonymity with suppression on generated people', () => {
  // Three quasi-identifiers with nested hierarchies, as extract policies will declare them.
  const age = (v: number) => [String(v), String(v - (v % 5)), String(v - (v % 10)), String(v - (v % 20)), '*'];
  const zip = (v: string) => [v, `${v.slice(0, 3)}**`, `${v.slice(0, 1)}****`, '*'];
  const sex = (v: string) => [v, '*'];
  const people = fc.array(
    fc.record({
      age: fc.integer({ min: 18, max: 90 }),
      zip: fc.constantFrom('10115', '10117', '10245', '20095', '20097', '80331'),
      sex: fc.constantFrom('f', 'm', 'x'),
    }),
    { minLength: 20, maxLength: 200 },
  );

  it('finds the same optimum as an exhaustive scan, for k 2-10 and suppression up to 10%', async () => {
    await fc.assert(
      fc.asyncProperty(
        people,
        fc.integer({ min: 2, max: 10 }),
        fc.double({ min: 0, max: 0.1, noNaN: true }),
        async (rows, k, maxSuppression) => {
          const generalised = rows.map((r) => [age(r.age), zip(r.zip), sex(r.sex)]);
          const lattice = new Lattice([4, 3, 1]);
          const meets = (node: LevelVector) => {
            const classes = new Map<string, number>();
            for (const row of generalised) {
              const key = row.map((levels, i) => levels[node[i]!]).join('|');
              classes.set(key, (classes.get(key) ?? 0) + 1);
            }
            const suppressed = [...classes.values()].filter((n) => n < k).reduce((a, b) => a + b, 0);
            return suppressed <= Math.floor(maxSuppression * rows.length);
          };
          // The search's premise, checked on the data: coarser never fails where finer meets.
          for (const node of lattice.nodes())
            if (meets(node)) for (const up of lattice.successors(node)) expect(meets(up)).toBe(true);
          const domains: AttributeDomain[] = [0, 1, 2].map((i) => domainOf(generalised.map((g) => g[i]!)));
          const loss = decomposedLoss(domains.map(nonUniformEntropyByLevel));
          const found = await flashSearch({ lattice, check: async (n) => meets(n), loss });
          const reference = await exhaustiveSearch({ lattice, check: async (n) => meets(n), loss });
          expect(found.optimum).toEqual(reference.optimum);
          expect(found.satisfying).toBe(reference.satisfying);
        },
      ),
      { numRuns: 200, seed: 5 },
    );
  });
});

/** One attribute's stored values with their people and generalisations, from each person's levels. */
function domainOf(levelsPerPerson: readonly (readonly string[])[]): AttributeDomain {
  const values = new Map<string, { people: number; levels: readonly string[] }>();
  for (const levels of levelsPerPerson) {
    const value = values.get(levels[0]!) ?? { people: 0, levels };
    value.people += 1;
    values.set(levels[0]!, value);
  }
  return { values: [...values.values()] };
}

describe('information loss, once per attribute and level', () => {
  // 2 people hold a, 2 hold b, 4 hold c; level 1 merges a and b; level 2 is everything.
  const domain: AttributeDomain = {
    values: [
      { people: 2, levels: ['a', 'ab', '*'] },
      { people: 2, levels: ['b', 'ab', '*'] },
      { people: 4, levels: ['c', 'c', '*'] },
    ],
  };

  it('non-uniform entropy sums, over people, the bits their value loses', () => {
    // level 1: 4 people each lose log2(4/2) = 1 bit; level 2: a, b lose log2(8/2) = 2, c loses log2(8/4) = 1.
    expect(nonUniformEntropyByLevel(domain)).toEqual([0, 4, 2 * 2 + 2 * 2 + 4 * 1]);
  });

  it('Loss counts the share of other stored values a generalised value stands for', () => {
    // level 1: a and b stand for 1 of the 2 other values (1/2), c for none; level 2: everyone 2/2.
    expect(lossMetricByLevel(domain)).toEqual([0, 2 * 0.5 + 2 * 0.5, 8]);
  });

  it('a node costs the sum of its attributes at their levels, 0 as stored and 1 at the top', () => {
    const loss = decomposedLoss([nonUniformEntropyByLevel(domain), [0, 3, 6]]);
    expect(loss([0, 0])).toBe(0);
    expect(loss([2, 2])).toBe(1);
    expect(loss([1, 1])).toBeCloseTo((4 + 3) / (12 + 6));
    expect(() => loss([3, 0])).toThrow(RangeError);
  });
});
