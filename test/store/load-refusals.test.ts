import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CleanroomError } from '../../src/errors/cleanroom-error.ts';
import { DataEngine, type TableShape } from '../../src/store/data-engine.ts';

let staging: string;
let engine: DataEngine;
beforeAll(async () => {
  staging = await mkdtemp(join(tmpdir(), 'cleanroom-load-'));
  engine = await DataEngine.open({
    stagingDirectory: staging,
    memoryLimit: '256MB',
    threads: 1,
    statementTimeoutMs: 10_000,
  });
});
afterAll(async () => {
  engine.close();
  await rm(staging, { recursive: true, force: true });
});

const shape: TableShape = {
  schema: 'loads',
  table: 'sales',
  columns: [
    { name: 'customer', type: 'VARCHAR' },
    { name: 'units', type: 'INTEGER' },
    { name: 'amount', type: 'DOUBLE' },
    { name: 'day', type: 'DATE' },
  ],
};
const HEADER = 'customer,units,amount,day';
// Planted in the offending value: it must appear in no response and in no log line.
const SECRET = 'Secret7391';

async function load(text: string | Buffer, kind: 'csv' | 'parquet' = 'csv'): Promise<number | CleanroomError> {
  const path = join(staging, `${Math.random().toString(36).slice(2)}.${kind}`);
  if (kind === 'csv') {
    await writeFile(path, text);
  } else {
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    await connection.run(`COPY (${String(text)}) TO '${path}' (FORMAT parquet)`);
    connection.closeSync();
    instance.closeSync();
  }
  try {
    const rows = await engine.loadIncoming(shape, { kind, path }, '__incoming_sales');
    await engine.discardIncoming(shape, '__incoming_sales');
    return rows;
  } catch (error) {
    if (error instanceof CleanroomError) return error;
    throw error;
  }
}

/** The refusal as a client sees it (code, message, details) and as the log sees it (cause). */
async function refusal(text: string | Buffer, kind: 'csv' | 'parquet' = 'csv') {
  const error = await load(text, kind);
  if (!(error instanceof CleanroomError)) throw new Error(`loaded ${error} rows`);
  const response = JSON.stringify({ code: error.code, message: error.message, details: error.details });
  const log = error.cause instanceof Error ? error.cause.message : '';
  for (const text of [response, log]) expect(text).not.toContain(SECRET);
  // The response is in our words only: no DuckDB error class, no quoted line, no hint text.
  expect(response).not.toMatch(/Error:|Original Line|Conversion|CSV Error|read_csv|read_parquet|strict_mode/);
  return { code: error.code, status: error.status, details: error.details, message: error.message, log };
}

describe('load refusals', () => {
  it(
    'name the line and the declared column of a value that is not of its type; the log keeps the engine text ' +
      'without the value',
    async () => {
      const r = await refusal(`${HEADER}\nann,1,2.5,2024-01-01\nbob,${SECRET},1,2024-01-02\n`);
      expect(r).toMatchObject({
        status: 422,
        code: 'UPLOAD_MALFORMED_DATA',
        details: { problem: 'type-mismatch', line: 3, column: 'units', expectedType: 'INTEGER' },
      });
      expect(r.message).toBe('A value in column "units" on line 3 is not a valid INTEGER.');
      expect(r.log).toMatch(/Conversion Error: CSV Error on Line: 3/);
      expect(r.log).toMatch(/converting column "units"/);
    },
  );

  it('describe field counts, unterminated quotes, bad UTF-8 and non-RFC 4180 files', async () => {
    expect((await refusal(`${HEADER}\nann,1,2.5\n`)).details).toEqual({
      problem: 'field-count',
      line: 2,
      expectedColumns: 4,
      foundColumns: 3,
    });
    expect((await refusal(`${HEADER}\n"${SECRET},1,2.5,2024-01-01\n`)).details).toEqual({
      problem: 'unterminated-quote',
      line: 2,
    });
    const latin1 = Buffer.concat([
      Buffer.from(`${HEADER}\nann,1,2.5,2024-01-01\n${SECRET}`),
      Buffer.from([0xff, 0xfe]),
      Buffer.from(',1,2.5,2024-01-01\n'),
    ]);
    expect((await refusal(latin1)).details).toEqual({ problem: 'invalid-utf8', line: 3 });
    expect((await refusal(`${HEADER}\nann,1,2.5,2024-01-01\r\nbob,2,1,2024-01-02\n`)).details).toEqual({
      problem: 'not-rfc4180',
    });
  });

  it('describe Parquet that is not Parquet, lacks a column or holds a wrong type', async () => {
    const notParquet = join(staging, 'garbage.parquet');
    await writeFile(notParquet, `PAR1${SECRET}PAR1`);
    const garbage = await engine
      .loadIncoming(shape, { kind: 'parquet', path: notParquet }, '__incoming_sales')
      .catch((e: unknown) => e);
    expect(garbage).toMatchObject({ code: 'UPLOAD_MALFORMED_DATA', details: { problem: 'not-parquet' } });
    expect(
      (await refusal(`SELECT 'ann' AS customer, 1 AS units, DATE '2024-01-01' AS day`, 'parquet')).details,
    ).toEqual({ problem: 'missing-column', column: 'amount' });
    expect(
      (
        await refusal(
          `SELECT 'ann' AS customer, '${SECRET}' AS units, 1.5 AS amount, DATE '2024-01-01' AS day`,
          'parquet',
        )
      ).details,
    ).toEqual({ problem: 'type-mismatch', column: 'units', expectedType: 'INTEGER' });
  });

  it('refuse NaN, infinite and beyond-±1e100 DOUBLEs, with the column and counts, never the values', async () => {
    const rows = [
      'ann,1,NaN,2024-01-01',
      'bob,1,inf,2024-01-01',
      'cy,1,-Infinity,2024-01-01',
      'di,1,7.391e150,2024-01-01',
      'ed,1,-2e100,2024-01-01',
      'fay,1,,2024-01-01',
      'gus,1,1e100,2024-01-01',
    ];
    const r = await refusal(`${HEADER}\n${rows.join('\n')}\n`);
    expect(r).toMatchObject({
      status: 422,
      code: 'UPLOAD_MALFORMED_DATA',
      details: {
        problem: 'unsafe-double',
        limit: 1e100,
        columns: [{ column: 'amount', nonFinite: 3, beyondLimit: 2 }],
      },
    });
    expect(r.message).not.toMatch(/7\.391|2e\+?100/);
    expect(
      (
        await refusal(
          `SELECT 'ann' AS customer, 1 AS units, 'NaN'::DOUBLE AS amount, DATE '2024-01-01' AS day`,
          'parquet',
        )
      ).details,
    ).toMatchObject({ problem: 'unsafe-double', columns: [{ column: 'amount', nonFinite: 1, beyondLimit: 0 }] });
    // NULL and exactly ±1e100 are fine.
    expect(await load(`${HEADER}\nann,1,,2024-01-01\nbob,1,1e100,2024-01-01\ncy,1,-1e100,2024-01-01\n`)).toBe(3);
  });

  it(
    "refuse DATEs past TIMESTAMP's range (Parquet can carry them), which would make date_trunc and DATE = " +
      'TIMESTAMP fail on their row',
    async () => {
      const r = await refusal(
        `SELECT 'ann' AS customer, 1 AS units, 1.5 AS amount, DATE '294300-01-01' AS day UNION ALL SELECT 'bob', ` +
          `2, 2.5, DATE '2024-01-01'`,
        'parquet',
      );
      expect(r).toMatchObject({
        status: 422,
        code: 'UPLOAD_MALFORMED_DATA',
        details: { problem: 'unsafe-date', columns: [{ column: 'day', beyondRange: 1 }] },
      });
      expect(r.message).not.toMatch(/294300/);
      expect(
        await load(
          `SELECT 'ann' AS customer, 1 AS units, 1.5 AS amount, DATE '9999-12-31' AS day UNION ALL SELECT 'bob', ` +
            `2, 2.5, NULL`,
          'parquet',
        ),
      ).toBe(2);
    },
  );

  it("the limit is why: beyond ~1.3e154 DuckDB's stddev fails at query time on one row's value", async () => {
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    const stddev = (x: string) =>
      connection.runAndReadAll(`SELECT stddev_samp(v) FROM (VALUES (${x}::DOUBLE), (1.0)) t(v)`);
    await expect(stddev('1e100')).resolves.toBeDefined();
    await expect(stddev('1e155')).rejects.toThrow(/out of range/i);
    connection.closeSync();
    instance.closeSync();
  });
});
