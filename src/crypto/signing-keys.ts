import nacl from 'tweetnacl';
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { fromBase64, toBase64 } from './bytes.ts';

/**
 * An Ed25519 key pair in tweetnacl's format: 32-byte public key, 64-byte secret key (seed ‖ public).
 * That format is the one a browser holds, so it is the one we store and exchange.
 */
export interface SigningKeyPair {
  readonly publicKey: Uint8Array;
  readonly secretKey: Uint8Array;
}

export const generateSigningKeyPair = (): SigningKeyPair => nacl.sign.keyPair();

export const signingKeyPairFromSecret = (secretKey: Uint8Array): SigningKeyPair =>
  nacl.sign.keyPair.fromSecretKey(secretKey);

/** A public key as it appears in policies and request headers. */
export const publicKeyText = (publicKey: Uint8Array): string => toBase64(publicKey);

export const parsePublicKey = (text: string): Uint8Array | undefined => fromBase64(text, nacl.sign.publicKeyLength);

export const parseSecretKey = (text: string): Uint8Array | undefined => fromBase64(text, nacl.sign.secretKeyLength);

// DER prefixes that wrap raw Ed25519 bytes as PKCS#8 / SPKI, so Node's native crypto accepts
// tweetnacl's keys unchanged (RFC 8410).
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

export const nativePrivateKey = (secretKey: Uint8Array): KeyObject =>
  createPrivateKey({
    key: Buffer.concat([PKCS8_ED25519_PREFIX, secretKey.subarray(0, 32)]),
    format: 'der',
    type: 'pkcs8',
  });

export const nativePublicKey = (publicKey: Uint8Array): KeyObject =>
  createPublicKey({ key: Buffer.concat([SPKI_ED25519_PREFIX, publicKey]), format: 'der', type: 'spki' });
