import { DuckDBInstance } from '@duckdb/node-api';
import { describe, expect, it } from 'vitest';
import { DUCKDB_LOWER, DUCKDB_UPPER } from '../../src/executor/duckdb-case-map.ts';
import { duckDbCaseRuns } from '../support/duckdb-case-map.ts';

describe("the ClickHouse emitter's copy of DuckDB's case mapping", () => {
  // After a DuckDB upgrade that fails this: npx tsx test/support/duckdb-case-map.ts --write
  it('is the installed DuckDB’s lower() and upper(), every code point', async () => {
    const connection = await (await DuckDBInstance.create(':memory:')).connect();
    expect((await duckDbCaseRuns(connection, 'lower')).runs).toEqual(DUCKDB_LOWER);
    expect((await duckDbCaseRuns(connection, 'upper')).runs).toEqual(DUCKDB_UPPER);
    // Not a table of nothing: ASCII, Latin-1 and the letters the review found are in it.
    const lower = new Map(DUCKDB_LOWER.flatMap(([f, n, s, d]) => Array.from({ length: n }, (_, i) => [f + i * s, d])));
    expect(
      ['A', 'Z', 'Ä', 'İ', 'Σ', 'ẞ', 'ǅ'].map((c) =>
        String.fromCodePoint(c.codePointAt(0)! + lower.get(c.codePointAt(0)!)!),
      ),
    ).toEqual(['a', 'z', 'ä', 'i', 'σ', 'ß', 'ǆ']);
  });
});
