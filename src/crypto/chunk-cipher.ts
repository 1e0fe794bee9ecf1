import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/**
 * Per-chunk AEAD for envelopes: ChaCha20-Poly1305 (RFC 8439) through Node's native crypto.
 * Measured here ~450-500 MB/s against tweetnacl secretbox's ~56 MB/s (see README, Upload format).
 *
 * Nonce (12 bytes) = prefix(7, random per envelope) ‖ chunk index (u32 BE) ‖ final flag (1 byte).
 * Binding the index and the final flag into the nonce is what makes a reordered, dropped or
 * truncated chunk fail authentication (the STREAM construction of Hoang, Reyhanitabar, Rogaway
 * and Vizár, 2015).
 */
export const CHUNK_CIPHER = 'chacha20-poly1305';
export const NONCE_PREFIX_BYTES = 7;
export const TAG_BYTES = 16;

export const newNoncePrefix = (): Uint8Array => new Uint8Array(randomBytes(NONCE_PREFIX_BYTES));

function chunkNonce(prefix: Uint8Array, index: number, final: boolean): Buffer {
  const nonce = Buffer.alloc(12);
  nonce.set(prefix, 0);
  nonce.writeUInt32BE(index, NONCE_PREFIX_BYTES);
  nonce[11] = final ? 1 : 0;
  return nonce;
}

/** ciphertext ‖ tag for one chunk. */
export function sealChunk(key: Uint8Array, prefix: Uint8Array, index: number, final: boolean, plaintext: Uint8Array): Uint8Array {
  const cipher = createCipheriv(CHUNK_CIPHER, key, chunkNonce(prefix, index, final), { authTagLength: TAG_BYTES });
  const body = cipher.update(plaintext);
  cipher.final();
  return Buffer.concat([body, cipher.getAuthTag()]);
}

/** The plaintext of one chunk, or undefined if it fails authentication at this index and flag. */
export function openChunk(key: Uint8Array, prefix: Uint8Array, index: number, final: boolean, sealed: Uint8Array): Uint8Array | undefined {
  if (sealed.length < TAG_BYTES) return undefined;
  const decipher = createDecipheriv(CHUNK_CIPHER, key, chunkNonce(prefix, index, final), { authTagLength: TAG_BYTES });
  decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
  const body = decipher.update(sealed.subarray(0, sealed.length - TAG_BYTES));
  try {
    decipher.final();
  } catch {
    return undefined;
  }
  return body;
}
