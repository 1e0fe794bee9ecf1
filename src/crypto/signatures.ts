import nacl from 'tweetnacl';
import { sign as nativeSign, verify as nativeVerify, type KeyObject } from 'node:crypto';
import { nativePrivateKey, nativePublicKey } from './signing-keys.ts';

// Converting raw bytes to a KeyObject costs more than the verification itself; principals are few.
const publicKeyCache = new Map<string, KeyObject>();
const MAX_CACHED_KEYS = 10_000;

function cachedPublicKey(publicKey: Uint8Array): KeyObject {
  const id = Buffer.from(publicKey).toString('base64');
  let key = publicKeyCache.get(id);
  if (!key) {
    if (publicKeyCache.size >= MAX_CACHED_KEYS) publicKeyCache.clear();
    key = nativePublicKey(publicKey);
    publicKeyCache.set(id, key);
  }
  return key;
}

/** Ed25519 signature with Node's native crypto (~100x tweetnacl); byte-identical to tweetnacl's. */
export const sign = (message: Uint8Array, secretKey: Uint8Array): Uint8Array =>
  new Uint8Array(nativeSign(null, message, nativePrivateKey(secretKey)));

/** Native Ed25519 verification: the hot path of every signed request. */
export function verify(message: Uint8Array, signature: Uint8Array, publicKey: Uint8Array): boolean {
  if (signature.length !== 64 || publicKey.length !== 32) return false;
  try {
    return nativeVerify(null, message, cachedPublicKey(publicKey), signature);
  } catch {
    return false; // a malformed public key is a failed verification, not a crash
  }
}

/** tweetnacl's signature: the browser-side reference the native path must match. */
export const signPortable = (message: Uint8Array, secretKey: Uint8Array): Uint8Array =>
  nacl.sign.detached(message, secretKey);

/** tweetnacl's verification, for clients without native crypto. */
export const verifyPortable = (message: Uint8Array, signature: Uint8Array, publicKey: Uint8Array): boolean =>
  signature.length === 64 && publicKey.length === 32 && nacl.sign.detached.verify(message, signature, publicKey);
