import { describe, expect, it } from 'vitest';
import { CsvRecordCounter } from '../../src/upload/csv-records.ts';

function count(text: string, pieceSize: number): number {
  const counter = new CsvRecordCounter();
  const bytes = new TextEncoder().encode(text);
  for (let i = 0; i < bytes.length; i += pieceSize) counter.push(bytes.subarray(i, i + pieceSize));
  return counter.dataRecords;
}

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
    for (const pieceSize of [1, 2, 3, 7, 1024]) expect(count(text, pieceSize)).toBe(expected);
  });
});
