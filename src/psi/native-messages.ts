import { diagnostic } from '../errors/diagnostic.ts';
import { refusalOf } from '../errors/refused-error.ts';
import { repeatedIndex } from './sorted-elements.ts';

/**
 * The native engine's messages, as the room checks them: a body is its elements back to back,
 * 32 bytes each (a Montgomery u-coordinate, little-endian), nothing else; the step is in the URL.
 * Pure and dependency-free, so the relay can check a message without loading libsodium.
 */
export const NATIVE_ELEMENT_BYTES = 32;

/** The u-coordinates of Curve25519's points of small order (RFC 7748 §5 and Bernstein's list). */
const LOW_ORDER = [
  0n,
  1n,
  325606250916557431795983626356110631294008115727848805560023387167927233504n,
  39382357235489614581723060781553021112529911719440698176882885853963445705823n,
  2n ** 255n - 19n - 1n,
].map((u) => {
  const bytes = Buffer.alloc(32);
  for (let i = 0, v = u; i < 32; i += 1, v >>= 8n) bytes[i] = Number(v & 0xffn);
  return bytes;
});

/** True when the 32 bytes at `offset` are one of the small-order u-coordinates. */
function isLowOrder(packed: Uint8Array, offset: number): boolean {
  return LOW_ORDER.some((point) => {
    for (let k = 0; k < NATIVE_ELEMENT_BYTES; k += 1) if (packed[offset + k] !== point[k]) return false;
    return true;
  });
}

const RULE = 'native PSI element encoding (PROTOCOL.md)';

const malformed = (reason: string, data: Record<string, unknown> = {}) =>
  refusalOf(diagnostic('PSI_MALFORMED_MESSAGE', 'The PSI message is malformed.', RULE, { reason, ...data }));

/** True when 32 bytes at `offset` are a canonical u-coordinate: below p = 2²⁵⁵ − 19. */
export function isCanonical(packed: Uint8Array, offset: number): boolean {
  const top = packed[offset + 31] as number;
  if (top < 0x7f) return true;
  if (top > 0x7f) return false;
  for (let k = 30; k >= 1; k -= 1) if (packed[offset + k] !== 0xff) return true;
  return (packed[offset] as number) < 0xed;
}

/** The number of whole elements in a message, refusing a ragged one (the room checks the rest). */
export function elementCount(bytes: Uint8Array): number {
  if (bytes.length % NATIVE_ELEMENT_BYTES !== 0) throw malformed('not a whole number of 32-byte elements');
  return bytes.length / NATIVE_ELEMENT_BYTES;
}

export interface ElementCheck {
  /** The number of elements the message must hold (a response answers a request element for element). */
  readonly count?: number;
  /** Refuse a repeated element (a party's own blinded set); answers may repeat where inputs were equivalent. */
  readonly distinct: boolean;
}

/**
 * Checks one message and returns its element count: whole elements, each canonical and not of small
 * order (a low-order point would make X25519's output all zeros), the expected count, and no
 * repeats where the sender's set must be distinct. Refuses PSI_MALFORMED_MESSAGE naming the first
 * offending element's index (for a repeat, the later of two equal elements).
 */
export function checkElements(bytes: Uint8Array, check: ElementCheck): number {
  const count = elementCount(bytes);
  if (check.count !== undefined && count !== check.count)
    throw malformed('wrong number of elements', { expected: check.count, count });
  for (let i = 0; i < count; i += 1) {
    const offset = i * NATIVE_ELEMENT_BYTES;
    if (!isCanonical(bytes, offset)) throw malformed('element is not a canonical u-coordinate', { index: i });
    if (isLowOrder(bytes, offset)) throw malformed('element is a point of small order', { index: i });
  }
  // Sorted keys, not a Set of strings: ~8 bytes per element instead of ~100 (sorted-elements.ts).
  const repeated = check.distinct ? repeatedIndex(bytes) : -1;
  if (repeated >= 0) throw malformed('element repeats', { index: repeated });
  return count;
}
