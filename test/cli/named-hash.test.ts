import { describe, expect, it } from 'vitest';
import { hashToSign } from '../../src/cli/named-hash.ts';
import { CleanroomError } from '../../src/errors/cleanroom-error.ts';

const current = 'ab'.repeat(32);
const thing = { code: 'TEMPLATE_HASH_MISMATCH', what: 'template "t"', review: 'cleanroom template show' };
const codeOf = (named: string): string => {
  try {
    hashToSign(named, current, thing);
    return 'SIGNED';
  } catch (error) {
    return error instanceof CleanroomError ? error.code : String(error);
  }
};

describe('the hash an officer signs', () => {
  it('is the full hash they named, or the current hash when they named a prefix of it of 12 digits or more', () => {
    expect(hashToSign(current, current, thing)).toBe(current);
    expect(hashToSign(` ${current.toUpperCase()} `, current, thing)).toBe(current);
    expect(hashToSign(current.slice(0, 12), current, thing)).toBe(current);
  });

  it('is refused when the named hash is not the current one, or too short or not hex to name one', () => {
    expect(codeOf('cd'.repeat(32))).toBe('TEMPLATE_HASH_MISMATCH');
    expect(codeOf(`${current.slice(0, 63)}0`)).toBe('TEMPLATE_HASH_MISMATCH');
    expect(codeOf('abababababac')).toBe('TEMPLATE_HASH_MISMATCH');
    expect(codeOf(current.slice(0, 11))).toBe('HASH_INVALID');
    expect(codeOf(`${current}00`)).toBe('HASH_INVALID');
    expect(codeOf('zzzzzzzzzzzzzz')).toBe('HASH_INVALID');
    expect(codeOf('')).toBe('HASH_INVALID');
  });
});
