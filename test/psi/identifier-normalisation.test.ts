import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { normaliseIdentifier, normaliseIdentifiers, rowsOfValues } from '../../src/psi/identifier-normalisation.ts';

describe('identifier normalisation', () => {
  it('normalises emails with NFC, trim and lower case', () => {
    expect(normaliseIdentifier('  Alice@Example.COM ', 'email')).toBe('alice@example.com');
    expect(normaliseIdentifier('Jose\u0301@x.io', 'email')).toBe(normaliseIdentifier('Jos\u00e9@x.io', 'email'));
    expect(normaliseIdentifier('not an email', 'email')).toBeUndefined();
    expect(normaliseIdentifier('a@b@c', 'email')).toBeUndefined();
  });

  it('normalises phone numbers to E.164 and refuses national formats', () => {
    expect(normaliseIdentifier('+44 (20) 7946-0958', 'e164')).toBe('+442079460958');
    expect(normaliseIdentifier('0044 20 7946 0958', 'e164')).toBe('+442079460958');
    expect(normaliseIdentifier('020 7946 0958', 'e164')).toBeUndefined();
    expect(normaliseIdentifier('+1234567', 'e164')).toBeUndefined();
    expect(normaliseIdentifier('+1234567890123456', 'e164')).toBeUndefined();
    expect(normaliseIdentifier('+44 20 ABC', 'e164')).toBeUndefined();
  });

  it('meets one number however it is written: the trunk 0 after a country code is not a digit of it', () => {
    // Issue #13: the regex turned "+44 (0)20 …" into "+4402…", so one number written two ways did not match.
    const london = [
      '+44 (0)20 7946 0958',
      '+44 20 7946 0958',
      '+44-20-7946-0958',
      '0044 (0) 20 7946 0958',
      '+4402079460958',
      '\u00a0+44\u200920 7946 0958 ',
    ];
    expect(new Set(london.map((n) => normaliseIdentifier(n, 'e164')))).toEqual(new Set(['+442079460958']));
    expect(normaliseIdentifier('+49 (0)30 901820', 'e164')).toBe('+4930901820');
    expect(normaliseIdentifier('+1 (415) 555-0132', 'e164')).toBe('+14155550132');
    expect(normaliseIdentifier('+33 6 12 34 56 78', 'e164')).toBe('+33612345678');
    expect(normaliseIdentifier('＋４４ ２０ ７９４６ ０９５８', 'e164')).toBe('+442079460958');
    // An extension is another line: refused rather than merged with the main number.
    for (const n of ['+1 202 555 0143 ext. 12', '+1 202 555 0143;ext=99', '+1 202 555 0143 x7'])
      expect(normaliseIdentifier(n, 'e164')).toBeUndefined();
    // Lengths no number in that country has are refused, not padded into someone else's number.
    expect(normaliseIdentifier('+44 20 79', 'e164')).toBeUndefined();
    expect(normaliseIdentifier('+1 415 555 01321234', 'e164')).toBeUndefined();
  });

  it('hashes emails for sha256-email and accepts already-hashed values', () => {
    const hex = createHash('sha256').update('alice@example.com').digest('hex');
    expect(normaliseIdentifier(' ALICE@example.com', 'sha256-email')).toBe(hex);
    expect(normaliseIdentifier(hex.toUpperCase(), 'sha256-email')).toBe(hex);
    expect(normaliseIdentifier('nope', 'sha256-email')).toBeUndefined();
  });

  it('keeps none as NFC plus trim, refusing blanks', () => {
    expect(normaliseIdentifier('  Ab ', 'none')).toBe('Ab');
    expect(normaliseIdentifier('   ', 'none')).toBeUndefined();
  });

  it('dedupes after normalising, counts invalid and duplicate rows, and maps back to rows', () => {
    const set = normaliseIdentifiers(['a@x.io', ' A@X.io', null, 'bad', 'b@x.io', 'a@x.io'], 'email');
    expect(set.values).toEqual(['a@x.io', 'b@x.io']);
    expect(set.invalidRows).toBe(2);
    expect(set.duplicateRows).toBe(2);
    expect(Array.from(set.rowValue)).toEqual([0, 0, -1, -1, 1, 0]);
    expect(rowsOfValues(set, [0])).toEqual([0, 1, 5]);
  });
});
