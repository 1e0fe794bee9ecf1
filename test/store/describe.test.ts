import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataEngine } from '../../src/store/data-engine.ts';

// An executor elsewhere (ClickHouse) answers with the columns DuckDB's plan of the same statement
// names and types: also where a column's type depends on a parameter's (found in the third review,
// where `avg(x) * $n` answered 500 on the ClickHouse room).
let engine: DataEngine;
let staging: string;
beforeAll(async () => {
  staging = await mkdtemp(join(tmpdir(), 'cleanroom-describe-'));
  engine = await DataEngine.open({
    stagingDirectory: staging,
    memoryLimit: '256MB',
    threads: 1,
    statementTimeoutMs: 5000,
  });
});
afterAll(async () => {
  engine.close();
  await rm(staging, { recursive: true, force: true });
});

describe('DataEngine.describe', () => {
  it('names and types a statement’s columns without running it, as running it would', async () => {
    const sql = "SELECT 1 AS a, 2.5::DOUBLE AS b, 'x' AS c, sum(i) AS s FROM range(3) t(i)";
    expect(await engine.describe(sql)).toEqual((await engine.query(sql)).columns);
  });

  it('types columns that depend on a parameter’s type from the bound parameters', async () => {
    const parameters = {
      n: { type: 'DOUBLE', value: 2 },
      k: { type: 'BIGINT', value: 3 },
      v: { type: 'VARCHAR', value: 'x' },
    } as const;
    const sql = 'SELECT 1.5 * $n AS v, count(*) + $k AS c, concat($v, $v) AS t FROM range(3)';
    const columns = await engine.describe(sql, parameters);
    expect(columns).toEqual((await engine.query(sql, parameters)).columns);
    expect(columns.map((c) => c.name)).toEqual(['v', 'c', 't']);
  });
});
