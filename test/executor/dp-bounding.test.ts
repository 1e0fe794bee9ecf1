import { createHash } from 'node:crypto';
import { createClient, type ClickHouseClient } from '@clickhouse/client';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DpShape } from '../../src/query/dp-shape.ts';
import { boundedDpTree, type DpBounds } from '../../src/query/rewrite/dp-bounding.ts';
import type { SqlNode } from '../../src/query/sql-tree.ts';
import { openPlanner } from '../query/support-planner.ts';
import {
  answerOnClickHouse,
  comparable,
  rowMultiset,
  startChdbEndpoint,
  type ChdbEndpoint,
} from '../support/chdb-endpoint.ts';

/**
 * The DP contribution bounding recomputed from the raw rows. Generated people, groups and metrics
 * (NULL metrics, values on half steps, people in more groups than the bound) go through the bounded
 * query on DuckDB and on ClickHouse; a plain-JS oracle of the stated algorithm (per person and group:
 * rows capped, each metric clamped and rounded to grid steps, the sum capped; a person in too many
 * groups keeps those whose md5(key|unit|rank) is smallest) gives the released aggregates. Both engines
 * must answer exactly the oracle.
 */

interface Row {
  readonly unit: string;
  readonly g0: string | null;
  readonly g1: number;
  readonly m: number | null;
}

const SUM = { lower: -2, upper: 3, center: 0, granularity: 0.5, perRowSteps: 6n };
const AVG = { lower: -2, upper: 3, center: 0.5, granularity: 0.5, perRowSteps: 5n };
const AGGREGATES = [
  { alias: 'n', kind: 'count' },
  { alias: 's', kind: 'sum', metric: { index: 0 } },
  { alias: 'a', kind: 'avg', metric: { index: 0 } },
  { alias: 'd', kind: 'count_distinct_units' },
] as const;

let endpoint: ChdbEndpoint;
let clickhouse: ClickHouseClient;
let duck: DuckDBConnection;
let planner: Awaited<ReturnType<typeof openPlanner>>;
const rowTrees: SqlNode[] = [];

beforeAll(async () => {
  planner = await openPlanner();
  endpoint = await startChdbEndpoint();
  clickhouse = createClient({ url: endpoint.url });
  duck = await (await DuckDBInstance.create(':memory:')).connect();
  for (const groups of [0, 1, 2]) {
    const keys = ['g0', 'g1'].slice(0, groups).map((g, i) => `, ${g} AS __cr_g${i}`);
    const parsed = await planner.parser.parse(`SELECT unit AS __cr_unit${keys.join('')}, m AS __cr_m0 FROM t`);
    const node = parsed.statements?.[0]?.node;
    if (!node) throw new Error('no parse');
    rowTrees.push(node);
  }
}, 60_000);
afterAll(async () => {
  await clickhouse.close();
  await endpoint.close();
  await planner.close();
});

/** DuckDB rounds a DOUBLE half away from zero; then the cast to BIGINT is exact. */
const roundAway = (x: number) => Math.sign(x) * Math.round(Math.abs(x));
const clamp = (x: number, lo: number, hi: number) => (x <= lo ? lo : x <= hi ? x : hi);
const steps = (m: number | null, grid: typeof SUM) =>
  m === null ? null : roundAway((clamp(m, grid.lower, grid.upper) - grid.center) / grid.granularity);
const md5 = (text: string) => createHash('md5').update(text).digest('hex');

/** Tuples of group values in DuckDB's ascending order, NULLs last. */
function compareGroups(a: readonly (string | number | null)[], b: readonly (string | number | null)[]): number {
  for (let i = 0; i < a.length; i++) {
    const [x, y] = [a[i] ?? null, b[i] ?? null];
    if (x === y) continue;
    if (x === null) return 1;
    if (y === null) return -1;
    return x < y ? -1 : 1;
  }
  return 0;
}

/** The released aggregates as the bounding states them, computed on the raw rows. */
function oracle(
  rows: readonly Row[],
  groupCount: number,
  bounds: Pick<DpBounds, 'maxGroups' | 'maxRowsPerUnit' | 'key'>,
) {
  const R = bounds.maxRowsPerUnit;
  const capped = (sum: number | null, grid: typeof SUM) => {
    const limit = R * Number(grid.perRowSteps);
    return sum === null ? null : clamp(sum, -limit, limit);
  };
  const keyOf = (r: Row) => [r.g0, r.g1].slice(0, groupCount);
  const people = new Map<string, Map<string, { key: (string | number | null)[]; rows: Row[] }>>();
  for (const r of rows) {
    const groups = people.get(r.unit) ?? new Map();
    people.set(r.unit, groups);
    const k = JSON.stringify(keyOf(r));
    groups.set(k, { key: keyOf(r), rows: [...(groups.get(k)?.rows ?? []), r] });
  }
  const out = new Map<
    string,
    { key: (string | number | null)[]; units: number; n: number; s: number | null; a: number | null; q: number }
  >();
  for (const [unit, groups] of people) {
    let kept = [...groups.values()];
    if (groupCount > 0 && kept.length > bounds.maxGroups) {
      const ranked = [...kept].sort((x, y) => compareGroups(x.key, y.key));
      kept = ranked
        .map((g, i) => ({ g, draw: md5(`${bounds.key}|${unit}|${i + 1}`) }))
        .sort((x, y) => (x.draw < y.draw ? -1 : 1))
        .slice(0, bounds.maxGroups)
        .map((x) => x.g);
    }
    for (const g of kept) {
      const sumOf = (grid: typeof SUM) => {
        const s = g.rows.map((r) => steps(r.m, grid)).filter((x): x is number => x !== null);
        return capped(s.length === 0 ? null : s.reduce((p, c) => p + c, 0), grid);
      };
      const k = JSON.stringify(g.key);
      const o = out.get(k) ?? { key: g.key, units: 0, n: 0, s: null, a: null, q: 0 };
      const add = (x: number | null, y: number | null) => (y === null ? x : (x ?? 0) + y);
      out.set(k, {
        key: g.key,
        units: o.units + 1,
        n: o.n + Math.min(g.rows.length, R),
        s: add(o.s, sumOf(SUM)),
        a: add(o.a, sumOf(AVG)),
        q: o.q + Math.min(g.rows.filter((r) => r.m !== null).length, R),
      });
    }
  }
  return [...out.values()].map((o) => [...o.key, o.units, o.n, o.s, o.a, o.q, o.units]);
}

const row = fc.record({
  unit: fc.constantFrom('p1', 'p2', 'p3', 'p4', 'p5', 'p6', 'p|7', 'Ü8'),
  g0: fc.constantFrom('a', 'b', 'c', 'd', 'e', 'B', null),
  g1: fc.integer({ min: -2, max: 2 }),
  m: fc.oneof(
    fc.constant(null),
    fc.integer({ min: -12, max: 16 }).map((q) => q / 4),
  ),
});

describe('the DP contribution bounding, recomputed from raw rows on DuckDB and ClickHouse', () => {
  it('releases exactly what the stated algorithm gives (150 generated tables)', async () => {
    const tally = { crowded: 0, nullMetrics: 0 };
    await fc.assert(
      fc.asyncProperty(
        fc.array(row, { minLength: 12, maxLength: 60 }),
        fc.integer({ min: 0, max: 2 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
        async (rows, groupCount, maxGroups, maxRowsPerUnit, key) => {
          const shape = { groupCount, aggregates: AGGREGATES } as unknown as DpShape;
          const bounds: DpBounds = {
            maxGroups,
            maxRowsPerUnit,
            key,
            grids: [undefined, SUM, AVG, undefined],
            onePersonPerRow: false,
          };
          const tree = boundedDpTree(rowTrees[groupCount] as SqlNode, shape, bounds);
          const expected = oracle(rows, groupCount, bounds);
          await load(rows);
          const onDuck = (await duck.runAndReadAll(await planner.parser.render(tree))).getRowsJson() as unknown[][];
          const onClickHouse = await answerOnClickHouse(clickhouse, tree);
          expect(rowMultiset(onDuck, 15)).toEqual(rowMultiset(expected, 15));
          expect(rowMultiset(onClickHouse, 15)).toEqual(rowMultiset(expected, 15));
          if (rows.some((r) => r.m === null)) tally.nullMetrics += 1;
          const groupsOf = new Map<string, Set<string>>();
          for (const r of rows)
            groupsOf.set(
              r.unit,
              (groupsOf.get(r.unit) ?? new Set()).add(JSON.stringify([r.g0, r.g1].slice(0, groupCount))),
            );
          if (groupCount > 0 && [...groupsOf.values()].some((g) => g.size > maxGroups)) tally.crowded += 1;
        },
      ),
      { seed: 2026_1203, numRuns: 150, endOnFailure: true },
    );
    // The generator must reach the cases that matter, or the property proves little.
    expect(tally.crowded).toBeGreaterThan(60);
    expect(tally.nullMetrics).toBeGreaterThan(100);
  }, 180_000);

  it('adds a group past 2^63 exactly on both engines (ClickHouse would wrap an Int64 sum)', async () => {
    const big = 2 ** 52;
    const grid = { lower: 0, upper: big, center: 0, granularity: 1, perRowSteps: BigInt(big) };
    const rows: Row[] = Array.from({ length: 4096 }, (_, i) => ({ unit: `p${i}`, g0: 'a', g1: 0, m: big }));
    await load(rows);
    const shape = { groupCount: 1, aggregates: [AGGREGATES[1]] } as unknown as DpShape;
    for (const onePersonPerRow of [false, true]) {
      const bounds: DpBounds = { maxGroups: 1, maxRowsPerUnit: 1, key: 1, grids: [grid], onePersonPerRow };
      const tree = boundedDpTree(rowTrees[1] as SqlNode, shape, bounds);
      const onDuck = (await duck.runAndReadAll(await planner.parser.render(tree))).getRowsJson() as unknown[][];
      const onClickHouse = await answerOnClickHouse(clickhouse, tree);
      const total = (BigInt(big) * 4096n).toString();
      expect(onDuck.map((r) => r.map(String))).toEqual([['a', '4096', total]]);
      // (the endpoint helper reads 64-bit integers as JSON numbers; an Int64 sum would have wrapped to 0)
      expect(onClickHouse).toEqual([['a', 4096, Number(total)]]);
    }
  });

  it('keeps a missing metric out of the sum instead of counting it at the upper clamp', async () => {
    const rows: Row[] = [
      { unit: 'p1', g0: 'a', g1: 0, m: null },
      { unit: 'p2', g0: 'a', g1: 0, m: 1 },
    ];
    await load(rows);
    const bounds: DpBounds = {
      maxGroups: 1,
      maxRowsPerUnit: 1,
      key: 1,
      grids: [undefined, SUM, AVG, undefined],
      onePersonPerRow: false,
    };
    const tree = boundedDpTree(
      rowTrees[1] as SqlNode,
      { groupCount: 1, aggregates: AGGREGATES } as unknown as DpShape,
      bounds,
    );
    const onDuck = (await duck.runAndReadAll(await planner.parser.render(tree))).getRowsJson() as unknown[][];
    // group a: 2 people, 2 rows, sum 1/0.5 = 2 steps, avg (1 - 0.5)/0.5 = 1 step over 1 value
    expect(onDuck.map((r) => r.map(comparable))).toEqual([['a', 2, 2, 2, 1, 1, 2]]);
  });
});

/** The same rows into table t of both engines. */
async function load(rows: readonly Row[]): Promise<void> {
  await duck.run('CREATE OR REPLACE TABLE t (unit VARCHAR, g0 VARCHAR, g1 INTEGER, m DOUBLE)');
  const values = rows.map(
    (r) => `(${text(r.unit)}, ${r.g0 === null ? 'NULL' : text(r.g0)}, ${r.g1}, ${r.m ?? 'NULL'})`,
  );
  await duck.run(`INSERT INTO t VALUES ${values.join(', ')}`);
  await clickhouse.command({ query: 'DROP TABLE IF EXISTS t' });
  await clickhouse.command({
    query:
      'CREATE TABLE t (unit Nullable(String), g0 Nullable(String), g1 Nullable(Int32), m Nullable(Float64)) ' +
      'ENGINE = MergeTree ORDER BY tuple()',
  });
  await clickhouse.insert({ table: 't', values: rows as Row[], format: 'JSONEachRow' });
}

const text = (value: string) => `'${value.replaceAll("'", "''")}'`;
