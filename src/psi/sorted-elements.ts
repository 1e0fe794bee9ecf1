import { createCipheriv, randomBytes } from 'node:crypto';
import { endianness } from 'node:os';

/**
 * Exact set operations on packed 32-byte elements in bounded memory: one 8-byte sort key per
 * element (36 bits of a keyed digest of the element, then its index in 28 bits), sorted natively,
 * instead of a JS `Set` of strings (~100 bytes per element, 1 GB at 10M). Elements whose digests tie
 * are resolved by comparing all 32 bytes, so the results are exact whatever the bytes.
 *
 * Why a keyed digest and not the element's own first bits: a member chooses the bytes of its own
 * blinded set, and valid encodings sharing their first 20 bytes are cheap to find. On raw prefixes
 * such a set is one tie run sorted by JS comparisons: 10 s of the room's main thread for 4M
 * elements (measured), ~45 s at 16M. The digest is AES-128 under a key drawn per call (one native
 * ECB pass, 1M elements at a time) of each element's two 16-byte blocks, E(b1) XOR rot8(E(b2)): a
 * permutation per block, so without the key no one can make distinct elements tie but by chance
 * (about n²/2³⁷ pairs in all).
 * Pure and dependency-free but for node:crypto (the room uses it without loading libsodium).
 */
const BYTES = 32;
/** The index part of a key: 28 bits, so a packed list may hold at most 2²⁸ elements. */
const INDEX_BITS = 28;
const INDEX_MASK = 2 ** INDEX_BITS - 1;
export const MAX_SORTED_ELEMENTS = 2 ** INDEX_BITS;
// A u64 key is two u32 words; which one holds the high half depends on the machine.
const [LO, HI] = endianness() === 'LE' ? [0, 1] : [1, 0];
/** Elements encrypted per native call: 32 MB of ciphertext at a time. */
const DIGEST_BATCH = 1 << 20;

/** A digest key for one call: lists compared with each other share it. */
export const digestKey = (): Buffer => randomBytes(16);

/** Element i's key words, sorted natively as u64: 36 bits of its keyed digest, then its index. */
function sortedKeys(packed: Uint8Array, key: Buffer): Uint32Array {
  const count = packed.length / BYTES;
  if (!Number.isInteger(count)) throw new RangeError('packed elements are 32 bytes each');
  if (count > MAX_SORTED_ELEMENTS) throw new RangeError(`at most ${MAX_SORTED_ELEMENTS} elements can be sorted`);
  const keys = new BigUint64Array(count);
  const words = new Uint32Array(keys.buffer);
  const cipher = createCipheriv('aes-128-ecb', key, null).setAutoPadding(false);
  for (let first = 0; first < count; first += DIGEST_BATCH) {
    const last = Math.min(count, first + DIGEST_BATCH);
    const blocks = cipher.update(packed.subarray(first * BYTES, last * BYTES));
    if (blocks.length !== (last - first) * BYTES) throw new Error('internal error: AES-ECB held back a block');
    // Bytes 0-4 of E(b1) XOR bytes 1-5 of E(b2) (rot8): 36 bits of the digest. Read as big-endian
    // 32-bit words (E(b1)[0..3], E(b2)[1..4]) plus one byte each.
    const view = new DataView(blocks.buffer, blocks.byteOffset, blocks.byteLength);
    for (let i = first, o = 0; i < last; i += 1, o += BYTES) {
      words[2 * i + HI] = (view.getUint32(o) ^ view.getUint32(o + 17)) >>> 0;
      const fifth = (blocks[o + 4] as number) ^ (blocks[o + 21] as number);
      words[2 * i + LO] = ((fifth >>> 4) * 2 ** INDEX_BITS + i) >>> 0;
    }
  }
  cipher.final();
  keys.sort();
  return words;
}

/** Compares element i of `a` with element j of `b` byte by byte (equal elements sort together within a tie). */
function compareAcross(a: Uint8Array, i: number, b: Uint8Array, j: number): number {
  const x = i * BYTES;
  const y = j * BYTES;
  for (let k = 0; k < BYTES; k += 1) {
    const d = (a[x + k] as number) - (b[y + k] as number);
    if (d !== 0) return d;
  }
  return 0;
}

const compareAt = (packed: Uint8Array, i: number, j: number) => compareAcross(packed, i, packed, j);

/** A list's sort keys, walked as runs of tying digests. */
class SortedList {
  readonly #words: Uint32Array;
  readonly count: number;

  constructor(
    readonly packed: Uint8Array,
    key: Buffer = digestKey(),
  ) {
    this.#words = sortedKeys(packed, key);
    this.count = this.#words.length / 2;
  }

  digestAt(k: number): number {
    return (this.#words[2 * k + HI] as number) * 16 + ((this.#words[2 * k + LO] as number) >>> INDEX_BITS);
  }

  /** The end of the run of tying digests that starts at `start`. */
  runEnd(start: number): number {
    const digest = this.digestAt(start);
    let end = start + 1;
    while (end < this.count && this.digestAt(end) === digest) end += 1;
    return end;
  }

  /** The element index of the k-th smallest key. */
  indexAt(k: number): number {
    return (this.#words[2 * k + LO] as number) & INDEX_MASK;
  }

  /** The run's element indices, sorted by the full element (equal elements adjacent). */
  run(start: number, end: number): Uint32Array {
    const indices = new Uint32Array(end - start);
    for (let k = start; k < end; k += 1) indices[k - start] = this.indexAt(k);
    if (indices.length > 1) indices.sort((i, j) => compareAt(this.packed, i, j));
    return indices;
  }
}

/** The index of an element equal to another one, or -1 when all are distinct. */
export function repeatedIndex(packed: Uint8Array): number {
  const list = new SortedList(packed);
  for (let start = 0; start < list.count;) {
    const end = list.runEnd(start);
    if (end - start > 1) {
      const indices = list.run(start, end);
      for (let k = 1; k < indices.length; k += 1) {
        const [i, j] = [indices[k - 1] as number, indices[k] as number];
        if (compareAt(packed, i, j) === 0) return Math.max(i, j);
      }
    }
    start = end;
  }
  return -1;
}

/**
 * Moves the distinct elements of `packed` to its front, keeping the first occurrence of each in
 * its original order, and returns how many there are. In place: no second copy of the list.
 */
export function compactDistinct(packed: Uint8Array): number {
  const count = packed.length / BYTES;
  const keep = new Uint8Array(count);
  const list = new SortedList(packed);
  for (let start = 0, end = 0; start < count; start = end) {
    end = list.runEnd(start);
    if (end - start === 1) {
      keep[list.indexAt(start)] = 1;
      continue;
    }
    // Equal elements are adjacent; keep the lowest index of each.
    const indices = list.run(start, end);
    let first = indices[0] as number;
    keep[first] = 1;
    for (let k = 1; k < indices.length; k += 1) {
      const index = indices[k] as number;
      if (compareAt(packed, first, index) !== 0) {
        first = index;
        keep[index] = 1;
      } else if (index < first) {
        keep[first] = 0;
        keep[index] = 1;
        first = index;
      }
    }
  }
  let write = 0;
  for (let i = 0; i < count; i += 1) {
    if (keep[i] === 0) continue;
    if (write !== i) packed.copyWithin(write * BYTES, i * BYTES, (i + 1) * BYTES);
    write += 1;
  }
  return write;
}

/** Distinct values two sorted index runs share (each run sorted by the full element). */
function commonOfRuns(a: Uint8Array, left: Uint32Array, b: Uint8Array, right: Uint32Array): number {
  let common = 0;
  for (let i = 0, j = 0; i < left.length && j < right.length;) {
    const d = compareAcross(a, left[i] as number, b, right[j] as number);
    if (d < 0) i += 1;
    else if (d > 0) j += 1;
    else {
      common += 1;
      const [x, y] = [left[i] as number, right[j] as number];
      while (i < left.length && compareAcross(a, left[i] as number, a, x) === 0) i += 1;
      while (j < right.length && compareAcross(b, right[j] as number, b, y) === 0) j += 1;
    }
  }
  return common;
}

/**
 * The number of distinct values both packed lists hold (each counted once, however often it
 * repeats): both lists' keys (one digest key) sorted, then merged by digest; only ties compare bytes.
 */
export function commonDistinct(a: Uint8Array, b: Uint8Array): number {
  const key = digestKey();
  const left = new SortedList(a, key);
  const right = new SortedList(b, key);
  let common = 0;
  for (let i = 0, j = 0; i < left.count && j < right.count;) {
    const p = left.digestAt(i);
    const q = right.digestAt(j);
    if (p < q) i += 1;
    else if (p > q) j += 1;
    else {
      const [iEnd, jEnd] = [left.runEnd(i), right.runEnd(j)];
      if (iEnd - i === 1 && jEnd - j === 1) {
        if (compareAcross(a, left.indexAt(i), b, right.indexAt(j)) === 0) common += 1;
      } else common += commonOfRuns(a, left.run(i, iEnd), b, right.run(j, jEnd));
      i = iEnd;
      j = jEnd;
    }
  }
  return common;
}

/**
 * The longest run of distinct elements whose digests tie: the size of the largest group the room
 * would sort by JS comparisons (benchmarks and tests; a member cannot steer it without the key).
 */
export function longestDigestTie(packed: Uint8Array): number {
  const list = new SortedList(packed);
  let longest = 0;
  for (let start = 0; start < list.count;) {
    const end = list.runEnd(start);
    longest = Math.max(longest, end - start);
    start = end;
  }
  return longest;
}
