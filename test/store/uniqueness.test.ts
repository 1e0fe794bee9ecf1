import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DataEngine } from '../../src/store/data-engine.ts';
import { openScratchEngine } from '../support/scratch-engine.ts';

// columnIsUnique answers "one row per person" for models and extracts; it counts distinct hashes first
// and the values themselves only when two hashes agree. Each case compares it with a count in JS.
let scratch: Awaited<ReturnType<typeof openScratchEngine>>;
let engine: DataEngine;

beforeAll(async () => {
  scratch = await openScratchEngine('uniqueness');
  engine = scratch.engine;
  await engine.query('CREATE SCHEMA u', {});
});
afterAll(() => scratch?.close());

const table = async (name: string, values: readonly (string | null)[]) => {
  await engine.query(`CREATE TABLE u.${name} (id VARCHAR)`, {});
  for (let i = 0; i < values.length; i += 500) {
    const chunk = values.slice(i, i + 500).map((v) => (v === null ? '(NULL)' : `('${v}')`));
    await engine.query(`INSERT INTO u.${name} VALUES ${chunk.join(', ')}`, {});
  }
};
const jsUnique = (values: readonly (string | null)[]) => {
  const present = values.filter((v) => v !== null);
  return new Set(present).size === present.length;
};

describe('columnIsUnique', () => {
  const ids = Array.from({ length: 5000 }, (_, i) => `person-${i.toString(16).padStart(8, '0')}`);
  const cases: [string, (string | null)[]][] = [
    ['distinct ids', ids],
    ['distinct ids and NULLs (a NULL is no person)', [...ids, null, null, null]],
    ['one id twice among thousands', [...ids, ids[4321] as string]],
    ['two ids equal but for case', [...ids, 'PERSON-00000001']],
    ['only NULLs', [null, null]],
  ];
  it.each(cases.map(([name, values], i) => ({ name, values, table: `t${i}` })))(
    '$name: the same answer as a count of distinct values',
    async ({ values, table: name }) => {
      await table(name, values);
      expect(await engine.columnIsUnique('u', name, 'id')).toBe(jsUnique(values));
    },
  );
  it('a duplicate is found wherever it sits', async () => {
    await table('late', [...ids.slice(1), ids[0] as string, ids[0] as string]);
    expect(await engine.columnIsUnique('u', 'late', 'id')).toBe(false);
  });
});

describe('tableGeneration and liveVersion', () => {
  const shape = { schema: 'u', table: 'gen', columns: [] };
  it('moves with every replacement, and is NaN (equal to nothing) while one is in progress', async () => {
    await engine.query("CREATE TABLE u.__incoming_gen_1 AS SELECT 'a' AS id", {});
    const before = engine.tableGeneration('u', 'gen');
    let during = 0;
    await engine.commitIncoming(shape, '__incoming_gen_1', {
      version: 7,
      afterSwap: async () => {
        during = engine.tableGeneration('u', 'gen');
      },
    });
    const after = engine.tableGeneration('u', 'gen');
    expect(Number.isNaN(during)).toBe(true);
    expect(Number.isFinite(after) && after !== before).toBe(true);
    expect(engine.liveVersion('u', 'gen')).toBe(7);
    // A commit that states no version leaves none; a drop moves the generation and leaves none either.
    await engine.query("CREATE TABLE u.__incoming_gen_2 AS SELECT 'b' AS id", {});
    await engine.commitIncoming(shape, '__incoming_gen_2');
    expect(engine.liveVersion('u', 'gen')).toBeUndefined();
    const beforeDrop = engine.tableGeneration('u', 'gen');
    expect(beforeDrop).not.toBe(after);
    const dropping = engine.dropTable('u', 'gen');
    expect(Number.isNaN(engine.tableGeneration('u', 'gen'))).toBe(true);
    await dropping;
    expect(engine.tableGeneration('u', 'gen')).not.toBe(beforeDrop);
    expect(Number.isFinite(engine.tableGeneration('u', 'gen'))).toBe(true);
  });

  it('a check that failed is asked again, not remembered', async () => {
    expect(await engine.columnIsUnique('u', 'later', 'id')).toBe(false);
    await table('later', ['x', 'y']);
    expect(await engine.columnIsUnique('u', 'later', 'id')).toBe(true);
  });
});
