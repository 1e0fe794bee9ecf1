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
