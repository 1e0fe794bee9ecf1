import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { commonDistinct, compactDistinct, longestDigestTie, repeatedIndex } from '../../src/psi/sorted-elements.ts';

const strings = (packed: Uint8Array) =>
  Array.from({ length: packed.length / 32 }, (_, i) =>
    Buffer.from(packed.subarray(i * 32, (i + 1) * 32)).toString('hex'),
  );

/**
 * Lists that stress the sort keys: elements drawn from a few "families" that share their first
 * 36 bits (or all but one bit of them), differing late or not at all, so prefix ties, repeats
 * and near-misses are common rather than a 2⁻³⁶ accident.
 */
const element = fc
  .record({
    family: fc.integer({ min: 0, max: 3 }),
    tail: fc.integer({ min: 0, max: 5 }),
    at: fc.integer({ min: 4, max: 31 }),
  })
  .map(({ family, tail, at }) => {
    const bytes = new Uint8Array(32).fill(0xab);
    bytes[0] = family === 3 ? 0xff : 0x10;
    bytes[4] = family === 2 ? 0xa0 : 0xaf; // family 2 ties with 0 on the 36-bit prefix, differing right after it
    bytes[1] = family === 1 ? 0x11 : 0x10;
    bytes[at] = tail; // where two elements of a family differ, if they do
    return bytes;
  });
const packedList = fc.array(element, { maxLength: 60 }).map((items) => {
  const out = new Uint8Array(items.length * 32);
  items.forEach((item, i) => out.set(item, i * 32));
  return out;
});

describe('exact set operations on packed elements in bounded memory', () => {
  it('finds a repeat exactly when a Set of the elements is smaller than the list', () => {
    fc.assert(
      fc.property(packedList, (packed) => {
        const values = strings(packed);
        const index = repeatedIndex(packed);
        if (new Set(values).size === values.length) expect(index).toBe(-1);
        else expect(values.indexOf(values[index] as string)).toBeLessThan(index);
      }),
      { numRuns: 2000, seed: 14 },
    );
  });

  it('compacts to the first occurrence of every distinct element, in order, in place', () => {
    fc.assert(
      fc.property(packedList, (packed) => {
        const expected = [...new Set(strings(packed))];
        const kept = compactDistinct(packed);
        expect(strings(packed.subarray(0, kept * 32))).toEqual(expected);
      }),
      { numRuns: 2000, seed: 15 },
    );
  });

  it('counts the distinct values two lists share, as two Sets would', () => {
    fc.assert(
      fc.property(packedList, packedList, (a, b) => {
        const right = new Set(strings(b));
        const expected = [...new Set(strings(a))].filter((v) => right.has(v)).length;
        expect(commonDistinct(a, b)).toBe(expected);
      }),
      { numRuns: 2000, seed: 16 },
    );
  });

  it('agrees with Sets on random elements at 200k, and on a list whose elements all tie on the prefix', () => {
    const random = new Uint8Array(200_000 * 32);
    for (let i = 0; i < random.length; i += 1) random[i] = (Math.imul(i, 2654435761) >>> 13) & 0xff;
    crypto.getRandomValues(random.subarray(0, 65_536));
    const other = random.slice(100_000 * 32);
    const tied = new Uint8Array(50_000 * 32).fill(7);
    for (let i = 0; i < 50_000; i += 1) new DataView(tied.buffer).setUint32(i * 32 + 28, i % 40_000);
    const right = new Set(strings(other));
    expect(commonDistinct(random, other)).toBe([...new Set(strings(random))].filter((v) => right.has(v)).length);
    expect(repeatedIndex(tied)).toBeGreaterThanOrEqual(40_000);
    expect(compactDistinct(tied)).toBe(40_000);
  });

  it('sorts by a keyed digest a member cannot steer: 200k elements sharing 28 bytes do not tie', () => {
    // On the elements' own first bits this list was one tie run, sorted by JS comparisons (a member's
    // crafted set held the room's main thread for 10 s at 4M elements).
    const crafted = new Uint8Array(200_000 * 32).fill(0x5a);
    const view = new DataView(crafted.buffer);
    for (let i = 0; i < 200_000; i += 1) view.setUint32(i * 32 + 28, i);
    expect(longestDigestTie(crafted)).toBeLessThanOrEqual(3);
    expect(repeatedIndex(crafted)).toBe(-1);
    // Equal elements always tie, so repeats are still found wherever they are.
    crafted.copyWithin(150_000 * 32, 7 * 32, 8 * 32);
    expect(repeatedIndex(crafted)).toBe(150_000);
    expect(longestDigestTie(crafted)).toBeGreaterThanOrEqual(2);
  });
});
