import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { csvCell, toCsv } from '../../src/extract/extract-csv.ts';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tmpdir } from 'node:os';

describe('extract CSV cells', () => {
  it('neutralise text a spreadsheet would run as a formula, never numbers', () => {
    expect(csvCell('=HYPERLINK("http://x","y")', true)).toBe(`"'=HYPERLINK(""http://x"",""y"")"`);
    expect(csvCell('+1', true)).toBe("'+1");
    expect(csvCell('-5--1', true)).toBe("'-5--1");
    expect(csvCell('@SUM(A1)', true)).toBe("'@SUM(A1)");
    expect(csvCell('\tcmd', true)).toBe("'\tcmd");
    expect(csvCell(-5, true)).toBe('-5');
    expect(csvCell(0.1 + 0.2, true)).toBe('0.30000000000000004');
    expect(csvCell('=1', false)).toBe('=1');
    expect(csvCell(null, true)).toBe('');
    expect(csvCell('', true)).toBe('""');
    expect(csvCell(' padded ', true)).toBe('" padded "');
  });

  it('round-trip through a CSV reader: NULL stays NULL, text stays text (plus its apostrophe)', async () => {
    // Read back through a plain DuckDB (not the room's locked-down one: it reads only its staging).
    const { DuckDBInstance } = await import('@duckdb/node-api');
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.tuple(fc.option(fc.string({ maxLength: 12 }), { nil: null }), fc.integer()), {
            minLength: 1,
            maxLength: 20,
          }),
          async (rows) => {
            const file = join(tmpdir(), `cleanroom-csv-${process.pid}.csv`);
            await writeFile(file, toCsv(['text', 'n'], rows, true));
            const read = await connection.runAndReadAll(
              `SELECT text, n FROM read_csv('${file}', header = true, auto_detect = false, ` +
                `allow_quoted_nulls = false, columns = {'text': 'VARCHAR', 'n': 'BIGINT'})`,
            );
            const back = read.getRowsJS().map(([text, n]) => [text, Number(n)]);
            const expected = rows.map(([text, n]) => [
              text === null ? null : /^[=+\-@\t\r]/.test(text) ? `'${text}` : text,
              n,
            ]);
            expect(back).toEqual(expected);
          },
        ),
        { numRuns: 150, seed: 12 },
      );
    } finally {
      connection.closeSync();
      instance.closeSync();
    }
  });
});
