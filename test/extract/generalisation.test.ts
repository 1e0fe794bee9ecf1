import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { levelExpressions } from '../../src/extract/generalisation.ts';
import type { ColumnDocument, Hierarchy } from '../../src/policy/policy-document.ts';
import { columnRef, type SerializedSql, type SqlNode } from '../../src/query/sql-tree.ts';
import { openScratchEngine } from '../support/scratch-engine.ts';

let scratch: Awaited<ReturnType<typeof openScratchEngine>>;
beforeAll(async () => {
  scratch = await openScratchEngine('generalise');
});
afterAll(() => scratch?.close());

/** Every level of each value, as DuckDB computes the expressions the room would run. */
async function levels(column: ColumnDocument, hierarchy: Hierarchy, values: readonly string[]): Promise<string[][]> {
  const { parser, engine } = scratch;
  const rows = values.map((v) => `(${v})`).join(', ');
  const parsed = (await parser.parse(`SELECT 1 FROM (VALUES ${rows}) AS t(v)`)) as SerializedSql;
  const tree = parsed.statements?.[0]?.node as SqlNode;
  const select = levelExpressions(column, hierarchy, columnRef(['t', 'v'])).map((e, i) => ({ ...e, alias: `l${i}` }));
  const sql = await parser.render({ ...tree, select_list: select }, parsed);
  const result = await engine.query(sql);
  return result.rows.map((row) => row.map((cell) => (cell === null ? 'NULL' : String(cell))));
}

const column = (name: string, type: ColumnDocument['type']): ColumnDocument => ({ name, type, class: 'quasi' });

describe('generalisation levels, as SQL the room runs', () => {
  it('bands integers by their lower bound, negative values and NULL included', async () => {
    expect(await levels(column('birth_year', 'INTEGER'), { bands: [5, 10] }, ['1987', '1990', '-3', 'NULL'])).toEqual([
      ['1987', '1985-1989', '1980-1989', '*'],
      ['1990', '1990-1994', '1990-1999', '*'],
      ['-3', '-5--1', '-10--1', '*'],
      ['NULL', 'NULL', 'NULL', '*'],
    ]);
    expect(await levels(column('amount', 'DOUBLE'), { bands: [100] }, ['149.5::DOUBLE'])).toEqual([
      ['149.5', '[100, 200)', '*'],
    ]);
  });

  it('truncates dates to month, quarter and year', async () => {
    expect(
      await levels(column('signup_date', 'DATE'), { dateTrunc: ['month', 'quarter', 'year'] }, ["DATE '2024-05-17'"]),
    ).toEqual([['2024-05-17', '2024-05', '2024-Q2', '2024', '*']]);
  });

  it('keeps prefixes, and maps explicit groups with * for what a level does not list', async () => {
    expect(await levels(column('zip_code', 'VARCHAR'), { prefix: [3, 1] }, ["'10115'", "'9'"])).toEqual([
      ['10115', '101*', '1*', '*'],
      ['9', '9*', '9*', '*'],
    ]);
    const groups = {
      groups: [
        { gold: 'high', silver: 'high', bronze: 'low' },
        { gold: 'any', silver: 'any', bronze: 'any' },
      ],
    };
    expect(await levels(column('tier', 'VARCHAR'), groups, ["'silver'", "'none'", "'it''s'"])).toEqual([
      ['silver', 'high', 'any', '*'],
      ['none', '*', '*', '*'],
      ["it's", '*', '*', '*'],
    ]);
  });

  it('nests: values that share a class at one level share one at every coarser level', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: -500, max: 5000 }), { minLength: 2, maxLength: 30 }),
        fc.constantFrom([2, 4, 8], [5, 10, 20, 100], [3, 9, 27]),
        async (values, bands) => {
          const rows = await levels(column('x', 'BIGINT'), { bands }, values.map(String));
          for (let level = 0; level < bands.length + 1; level++) {
            const coarser = new Map<string, string>();
            for (const row of rows) {
              const seen = coarser.get(row[level]!);
              if (seen !== undefined) expect(row[level + 1]).toBe(seen);
              coarser.set(row[level]!, row[level + 1]!);
            }
          }
        },
      ),
      { numRuns: 40, seed: 10 },
    );
  });
});
