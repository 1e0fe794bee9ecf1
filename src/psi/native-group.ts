import { createHash, createPrivateKey, createPublicKey, diffieHellman, randomBytes } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import sodium from 'libsodium-wrappers-sumo';
import { NATIVE_ELEMENT_BYTES } from './native-messages.ts';

/**
 * The group of the native PSI engine (see PROTOCOL.md): an identifier is hashed to ristretto255
 * with RFC 9380's hash_to_ristretto255 (expand_message_xmd with SHA-512, then RFC 9496's one-way
 * map, which libsodium implements as crypto_core_ristretto255_from_hash), then carried as the
 * Montgomery u-coordinate of that point so Node's native X25519 (OpenSSL) does every scalar
 * multiplication. Every hashed element is on the curve, never on its twist; the clamped X25519
 * scalar is a multiple of 8, so the 4-torsion a ristretto representative may carry is cleared
 * by the first multiplication, and both orders of two multiplications give the same point.
 *
 * Element encoding: 32 bytes, u little-endian, canonical (u < p). Everything here is synchronous
 * and CPU-bound: it runs in worker threads (native-worker.ts) or in the room's verifier.
 */

/** The RFC 9380 domain separation tag of this engine; a new protocol version gets a new tag. */
export const HASH_DST = 'CLEANROOM-PSI-V1-ristretto255_XMD:SHA-512_R255MAP_RO_';

const P = 2n ** 255n - 19n;
const DST_PRIME = Buffer.concat([Buffer.from(HASH_DST, 'latin1'), Buffer.from([Buffer.byteLength(HASH_DST)])]);
const Z_PAD = Buffer.alloc(128);
const LEN_64 = Buffer.from([0, 64]);

/** RFC 9380 §5.3.1 expand_message_xmd with SHA-512 (b = 64, s = 128 bytes) for any length ≤ 255·64. */
export function expandMessageXmd(message: Uint8Array, dst: Uint8Array, length: number): Buffer {
  const ell = Math.ceil(length / 64);
  if (ell > 255 || length > 65535 || dst.length > 255) throw new RangeError('expand_message_xmd: length too large');
  const dstPrime = Buffer.concat([dst, Buffer.from([dst.length])]);
  const b0 = createHash('sha512')
    .update(Z_PAD)
    .update(message)
    .update(Buffer.from([length >> 8, length & 0xff, 0]))
    .update(dstPrime)
    .digest();
  const blocks: Buffer[] = [];
  let previous = Buffer.alloc(64);
  for (let i = 1; i <= ell; i += 1) {
    const mixed = Buffer.alloc(64);
    for (let k = 0; k < 64; k += 1) mixed[k] = (b0[k] as number) ^ (previous[k] as number);
    previous = createHash('sha512')
      .update(i === 1 ? b0 : mixed)
      .update(Buffer.from([i]))
      .update(dstPrime)
      .digest();
    blocks.push(previous);
  }
  return Buffer.concat(blocks).subarray(0, length);
}

/** expand_message_xmd at length 64 with this engine's tag: the common case, without the general loop. */
function uniformBytes(message: Uint8Array): Buffer {
  const b0 = createHash('sha512')
    .update(Z_PAD)
    .update(message)
    .update(LEN_64)
    .update(Buffer.from([0]))
    .update(DST_PRIME)
    .digest();
  return createHash('sha512')
    .update(b0)
    .update(Buffer.from([1]))
    .update(DST_PRIME)
    .digest();
}

/** libsodium's WASM is initialised once per thread; call before `hashToElements`. */
export const sodiumReady: Promise<void> = sodium.ready;

/** RFC 9496's one-way map (element derivation) from 64 uniform bytes to a ristretto255 encoding. */
export const ristrettoFromUniform = (bytes: Uint8Array): Uint8Array => sodium.crypto_core_ristretto255_from_hash(bytes);

/** hash_to_ristretto255 of one identifier (its UTF-8 bytes): its canonical 32-byte encoding s. */
export function hashToRistretto(identifier: string): Uint8Array {
  return ristrettoFromUniform(uniformBytes(Buffer.from(identifier, 'utf8')));
}

function readLittleEndian(bytes: Uint8Array, offset = 0): bigint {
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, 32);
  return (
    view.getBigUint64(0, true) |
    (view.getBigUint64(8, true) << 64n) |
    (view.getBigUint64(16, true) << 128n) |
    (view.getBigUint64(24, true) << 192n)
  );
}

function writeLittleEndian(value: bigint, out: Uint8Array, offset: number): void {
  const view = new DataView(out.buffer, out.byteOffset + offset, 32);
  const mask = (1n << 64n) - 1n;
  view.setBigUint64(0, value & mask, true);
  view.setBigUint64(8, (value >> 64n) & mask, true);
  view.setBigUint64(16, (value >> 128n) & mask, true);
  view.setBigUint64(24, value >> 192n, true);
}

function modPow(base: bigint, exponent: bigint): bigint {
  let result = 1n;
  let b = base % P;
  let e = exponent;
  while (e > 0n) {
    if (e & 1n) result = (result * b) % P;
    b = (b * b) % P;
    e >>= 1n;
  }
  return result;
}

/**
 * The Montgomery u-coordinates of ristretto255 encodings s, packed: u = 1/s² (mod p). Decoding s
 * gives the Edwards point with y = (1 − s²)/(1 + s²), and u = (1 + y)/(1 − y) = 1/s². One field
 * inversion serves the whole batch (Montgomery's trick). s = 0 (the identity, which hashing
 * yields with probability 2⁻²⁵²) throws.
 */
export function montgomeryFromRistretto(encodings: readonly Uint8Array[]): Uint8Array {
  const squares = encodings.map((s) => {
    const value = readLittleEndian(s);
    if (value === 0n) throw new RangeError('identity element');
    return (value * value) % P;
  });
  const prefix: bigint[] = new Array<bigint>(squares.length);
  let running = 1n;
  for (let i = 0; i < squares.length; i += 1) {
    prefix[i] = running;
    running = (running * (squares[i] as bigint)) % P;
  }
  let inverse = modPow(running, P - 2n);
  const out = new Uint8Array(encodings.length * NATIVE_ELEMENT_BYTES);
  for (let i = squares.length - 1; i >= 0; i -= 1) {
    writeLittleEndian((inverse * (prefix[i] as bigint)) % P, out, i * NATIVE_ELEMENT_BYTES);
    inverse = (inverse * (squares[i] as bigint)) % P;
  }
  return out;
}

/** Hashes identifiers to packed elements (32-byte u-coordinates), in input order. */
export function hashToElements(identifiers: readonly string[]): Uint8Array {
  return montgomeryFromRistretto(identifiers.map(hashToRistretto));
}

const PKCS8_X25519 = Buffer.from('302e020100300506032b656e04220420', 'hex');

/** A fresh session key: 32 random bytes (X25519 clamps them on every use). */
export function newSessionKey(): Uint8Array {
  const key = new Uint8Array(32);
  randomBytes(32).copy(Buffer.from(key.buffer));
  return key;
}

/** Thrown for a peer's element X25519 refuses: a low-order point gives the all-zero output. */
export class LowOrderElementError extends Error {
  constructor(readonly index: number) {
    super(`element ${index} is a low-order point`);
  }
}

/**
 * Multiplies every packed element by the key with native X25519 (RFC 7748). The key is imported
 * once as a private KeyObject; the raw bytes stay with the caller, who zeroes them.
 */
export function multiplyElements(key: Uint8Array, packed: Uint8Array): Uint8Array {
  const der = Buffer.concat([PKCS8_X25519, key]);
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  } finally {
    der.fill(0);
  }
  const out = new Uint8Array(packed.length);
  const view = Buffer.from(packed.buffer, packed.byteOffset, packed.byteLength);
  for (let offset = 0; offset < packed.length; offset += NATIVE_ELEMENT_BYTES) {
    const x = view.toString('base64url', offset, offset + NATIVE_ELEMENT_BYTES);
    const publicKey = createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x }, format: 'jwk' });
    let shared: Buffer;
    try {
      shared = diffieHellman({ privateKey, publicKey });
    } catch {
      throw new LowOrderElementError(offset / NATIVE_ELEMENT_BYTES);
    }
    out.set(shared, offset);
  }
  return out;
}
