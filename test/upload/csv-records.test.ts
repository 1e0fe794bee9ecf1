import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CleanroomError } from '../../src/errors/cleanroom-error.ts';
import { DataEngine } from '../../src/store/data-engine.ts';
import { parseHeaderLine } from '../../src/upload/csv-header.ts';
import { CsvRecordCounter } from '../../src/upload/csv-records.ts';

function count(text: string, pieceSize: number): number {
  const counter = new CsvRecordCounter();
  const bytes = new TextEncoder().encode(text);
  for (let i = 0; i < bytes.length; i += pieceSize) counter.push(bytes.subarray(i, i + pieceSize));
  return counter.dataRecords;
}

const PIECE_SIZES = [1, 2, 3, 7, 1024];

describe('CsvRecordCounter', () => {
  const cases: [string, string, number][] = [
    ['plain rows', 'a,b\n1,2\n3,4\n', 2],
    ['no final newline', 'a,b\n1,2\n3,4', 2],
    ['header only', 'a,b\n', 0],
    ['empty', '', 0],
    ['newline inside quotes', 'a,b\n"x\ny",2\n3,4\n', 2],
    ['doubled quotes', 'a,b\n"say ""hi""\n there",2\n', 1],
    ['CRLF', 'a,b\r\n1,2\r\n3,4\r\n', 2],
  ];
  it.each(cases)('%s', (_name, text, expected) => {
    for (const pieceSize of PIECE_SIZES) expect(count(text, pieceSize)).toBe(expected);
  });
});

/**
 * The manifest's row count must be what the room loads, or an honest upload is refused as
 * UPLOAD_MANIFEST_MISMATCH: every case is loaded by the room's own DataEngine.loadIncoming.
 */
describe("CsvRecordCounter agrees with the room's DuckDB read_csv", () => {
  let staging: string;
  let engine: DataEngine;
  beforeAll(async () => {
    staging = await mkdtemp(join(tmpdir(), 'cleanroom-records-'));
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

  /** Rows the room loads from this CSV (columns as its header names them, all VARCHAR), or the refusal code. */
  async function roomRows(name: string, text: string): Promise<number | string> {
    const path = join(staging, `${name.replaceAll(/\W/g, '_')}.csv`);
    await writeFile(path, text);
    const header = text.split(/\r\n|\r|\n/)[0] ?? '';
    const shape = {
      schema: 'records',
      table: 't',
      columns: parseHeaderLine(header).map((c) => ({ name: c, type: 'VARCHAR' })),
    };
    try {
      const rows = await engine.loadIncoming(shape, { kind: 'csv', path }, '__incoming_t');
      await engine.discardIncoming(shape, '__incoming_t');
      return rows;
    } catch (error) {
      if (error instanceof CleanroomError) return error.code;
      throw error;
    }
  }

  const accepted: [string, string][] = [
    ['plain rows', 'a,b\n1,2\n3,4\n'],
    ['no final newline', 'a,b\n1,2\n3,4'],
    ['one trailing blank line', 'a,b\n1,2\n3,4\n\n'],
    ['several trailing blank lines', 'a,b\n1,2\n3,4\n\n\n\n'],
    ['blank lines in the middle', 'a,b\n1,2\n\n\n3,4\n'],
    ['blank line after the header', 'a,b\n\n1,2\n'],
    ['CRLF', 'a,b\r\n1,2\r\n3,4\r\n'],
    ['CRLF, trailing blank line', 'a,b\r\n1,2\r\n3,4\r\n\r\n'],
    ['CRLF, blank line in the middle', 'a,b\r\n1,2\r\n\r\n3,4\r\n'],
    ['CRLF, no final newline', 'a,b\r\n1,2\r\n3,4'],
    ['CR only', 'a,b\r1,2\r3,4\r'],
    ['CR only, blank line', 'a,b\r1,2\r\r3,4\r'],
    ['newline inside quotes', 'a,b\n"x\ny",2\n3,4\n'],
    ['CRLF inside quotes', 'a,b\r\n"x\r\ny",2\r\n3,4\r\n'],
    ['blank line inside quotes', 'a,b\n"x\n\ny",2\n'],
    ['doubled quotes', 'a,b\n"say ""hi""\n there",2\n'],
    ['a record of empty fields', 'a,b\n1,2\n,\n'],
    ['header only', 'a,b\n'],
    ['header only, no newline', 'a,b'],
    ['header and a blank line', 'a,b\n\n'],
    ['byte order mark', '\uFEFFa,b\n1,2\n'],
    ['quoted comma in the header', '"a,x",b\n1,2\n'],
    ['one column', 'a\n1\n2\n'],
    ['one column, trailing blank line (a NULL row)', 'a\n1\n2\n\n'],
    ['one column, blank lines in the middle', 'a\n1\n\n\n2\n'],
    ['one column, CRLF blank line', 'a\r\n1\r\n\r\n2\r\n'],
    ['one column, CR blank line', 'a\r1\r\r'],
    ['one column, header and a blank line', 'a\n\n'],
    ['one column, no final newline', 'a\n\n1'],
    ['one column, quoted empty', 'a\n1\n""\n2\n'],
    ['one column, quoted header with a comma', '"a,b"\n1\n\n'],
  ];
  it.each(accepted)('%s', async (name, text) => {
    const rows = await roomRows(name, text);
    expect(typeof rows, `DuckDB refused: ${rows}`).toBe('number');
    for (const pieceSize of PIECE_SIZES) expect(count(text, pieceSize), `pieces of ${pieceSize}`).toBe(rows);
  });

  // DuckDB refuses these whole, so no count can disagree: the upload fails as malformed data.
  const refused: [string, string][] = [
    ['a line of spaces', 'a,b\n1,2\n  \n3,4\n'],
    ['LF and CRLF mixed', 'a,b\n1,2\r\n3,4\n'],
    ['a stray CR after the last LF', 'a,b\n1,2\n3,4\n\r'],
    ['too few fields', 'a,b\n1\n'],
  ];
  it.each(refused)('%s is refused by the room', async (name, text) => {
    expect(await roomRows(name, text)).toBe('UPLOAD_MALFORMED_DATA');
  });
});
