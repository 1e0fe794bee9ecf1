import { describe, expect, it } from 'vitest';
import { CsvHeaderGate } from '../../src/upload/csv-header.ts';
import { CleanroomError } from '../../src/errors/cleanroom-error.ts';

const columns = ['email_hash', 'age_band', 'région'];
const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

function gateOver(pieces: readonly Uint8Array[]): unknown {
  const gate = new CsvHeaderGate(columns);
  try {
    for (const piece of pieces) gate.push(piece);
    gate.finish();
    return 'accepted';
  } catch (error) {
    return error instanceof CleanroomError ? error.code : error;
  }
}

const oneByteAtATime = (data: Uint8Array): Uint8Array[] => Array.from(data, (b) => Uint8Array.of(b));

describe('CsvHeaderGate', () => {
  it('accepts the declared header however the network splits it, BOM and multi-byte names included', () => {
    const file = bytes('\uFEFFemail_hash,age_band,région\nabc,30-39,nord\n');
    expect(gateOver([file])).toBe('accepted');
    // One byte per piece splits the 3-byte BOM and the 2-byte "é".
    expect(gateOver(oneByteAtATime(file))).toBe('accepted');
    expect(gateOver(oneByteAtATime(bytes('email_hash,age_band,région')))).toBe('accepted');
  });

  it('refuses swapped, missing or extra columns, split or not', () => {
    for (const header of ['age_band,email_hash,région', 'email_hash,age_band', 'email_hash,age_band,région,extra']) {
      const file = bytes(`${header}\nx\n`);
      expect(gateOver([file])).toBe('UPLOAD_SCHEMA_MISMATCH');
      expect(gateOver(oneByteAtATime(file))).toBe('UPLOAD_SCHEMA_MISMATCH');
    }
  });
});
