import { describe, expect, it } from 'vitest';
import {
  generateSigningKeyPair,
  signingKeyPairFromSecret,
  parsePublicKey,
  publicKeyText,
} from '../../src/crypto/signing-keys.ts';
import { sign, signPortable, verify, verifyPortable } from '../../src/crypto/signatures.ts';

const message = new TextEncoder().encode('POST /v1/collaborations/demo/queries');

describe('Ed25519 signatures: native and tweetnacl agree', () => {
  it('produce byte-identical signatures from the same tweetnacl key', () => {
    const keys = generateSigningKeyPair();
    expect(Buffer.from(sign(message, keys.secretKey))).toEqual(Buffer.from(signPortable(message, keys.secretKey)));
  });

  it('each verifies the other', () => {
    const keys = generateSigningKeyPair();
    expect(verify(message, signPortable(message, keys.secretKey), keys.publicKey)).toBe(true);
    expect(verifyPortable(message, sign(message, keys.secretKey), keys.publicKey)).toBe(true);
  });

  it('reject a signature by another key, over another message, or altered by one bit', () => {
    const keys = generateSigningKeyPair();
    const other = generateSigningKeyPair();
    const signature = sign(message, keys.secretKey);
    expect(verify(message, signature, other.publicKey)).toBe(false);
    expect(verify(new TextEncoder().encode('GET /'), signature, keys.publicKey)).toBe(false);
    const flipped = Uint8Array.from(signature);
    flipped[10] = (flipped[10] as number) ^ 1;
    expect(verify(message, flipped, keys.publicKey)).toBe(false);
    expect(verifyPortable(message, flipped, keys.publicKey)).toBe(false);
  });

  it('treat malformed keys and signatures as failures, not crashes', () => {
    const keys = generateSigningKeyPair();
    expect(verify(message, new Uint8Array(63), keys.publicKey)).toBe(false);
    expect(verify(message, sign(message, keys.secretKey), new Uint8Array(31))).toBe(false);
    expect(parsePublicKey('not base64!')).toBeUndefined();
    expect(parsePublicKey(Buffer.alloc(31).toString('base64'))).toBeUndefined();
  });

  it('round-trip key text and rebuild a pair from its secret', () => {
    const keys = generateSigningKeyPair();
    expect(parsePublicKey(publicKeyText(keys.publicKey))).toEqual(keys.publicKey);
    expect(signingKeyPairFromSecret(keys.secretKey).publicKey).toEqual(keys.publicKey);
  });
});
