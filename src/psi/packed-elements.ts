import { ELEMENT_BYTES } from './psi-protobuf.ts';

/** Number of elements in a packed buffer. */
export const countOf = (packed: Uint8Array): number => packed.length / ELEMENT_BYTES;

function compareAt(a: Uint8Array, i: number, b: Uint8Array, j: number): number {
  for (let k = 0; k < ELEMENT_BYTES; k += 1) {
    const d = (a[i + k] as number) - (b[j + k] as number);
    if (d !== 0) return d;
  }
  return 0;
}

/** True when the elements are in strictly increasing byte order, which also proves them distinct. */
export function isStrictlySorted(packed: Uint8Array): boolean {
  for (let i = ELEMENT_BYTES; i < packed.length; i += ELEMENT_BYTES) {
    if (compareAt(packed, i - ELEMENT_BYTES, packed, i) >= 0) return false;
  }
  return true;
}

/** True when no element repeats, across all the given buffers. */
export function areDistinct(buffers: readonly Uint8Array[]): boolean {
  const seen = new Set<string>();
  for (const packed of buffers) {
    const text = Buffer.from(packed.buffer, packed.byteOffset, packed.byteLength).toString('latin1');
    for (let i = 0; i < text.length; i += ELEMENT_BYTES) {
      const key = text.slice(i, i + ELEMENT_BYTES);
      if (seen.has(key)) return false;
      seen.add(key);
    }
  }
  return true;
}

/**
 * Concatenates and sorts in unsigned byte order, the order psi.js uses (std::string comparison):
 * a Raw setup must be sorted for the client's merge walk, and a cardinality-only response must be
 * sorted as a whole so no chunk boundary tells the client where its matches were.
 */
export function sortPacked(buffers: readonly Uint8Array[]): Uint8Array {
  const keys: string[] = [];
  for (const packed of buffers) {
    const text = Buffer.from(packed.buffer, packed.byteOffset, packed.byteLength).toString('latin1');
    for (let i = 0; i < text.length; i += ELEMENT_BYTES) keys.push(text.slice(i, i + ELEMENT_BYTES));
  }
  // latin1 maps each byte to one UTF-16 unit, so string order is byte order.
  keys.sort();
  // A fresh ArrayBuffer, not Node's shared pool, so a worker can transfer it.
  const out = new Uint8Array(keys.length * ELEMENT_BYTES);
  const writer = Buffer.from(out.buffer);
  keys.forEach((key, i) => writer.write(key, i * ELEMENT_BYTES, 'latin1'));
  return out;
}

/** Splits a packed buffer into views of the given element counts (psi.js's 33-byte points unless told). */
export function splitPacked(
  packed: Uint8Array,
  counts: readonly number[],
  elementBytes: number = ELEMENT_BYTES,
): Uint8Array[] {
  let offset = 0;
  return counts.map((count) => {
    const part = packed.subarray(offset, offset + count * elementBytes);
    offset += count * elementBytes;
    return part;
  });
}

/**
 * Copies buffers back to back into one SharedArrayBuffer: views of it reach worker threads without
 * a copy (a plain buffer is cloned whole, even for a small view of it).
 */
export function concatShared(buffers: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(new SharedArrayBuffer(buffers.reduce((sum, b) => sum + b.length, 0)));
  let offset = 0;
  for (const buffer of buffers) {
    out.set(buffer, offset);
    offset += buffer.length;
  }
  return out;
}
