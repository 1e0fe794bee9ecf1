import nacl from 'tweetnacl';
import { describe, expect, it } from 'vitest';
import { openSealed, sealTo, sealingKeyOfSigningKey, sealingSecretOfSigningKey } from '../../src/crypto/sealing.ts';
import { generateSigningKeyPair } from '../../src/crypto/signing-keys.ts';

describe('sealing to a principal through their signing key', () => {
  it('opens only with the same principal’s secret key', () => {
    const alice = generateSigningKeyPair();
    const mallory = generateSigningKeyPair();
    const sealingKey = sealingKeyOfSigningKey(alice.publicKey);
    if (!sealingKey) throw new Error('a generated key is a valid point');
    const secret = nacl.randomBytes(32);
    const sealed = sealTo(sealingKey, secret);
    expect(openSealed(sealingSecretOfSigningKey(alice.secretKey), sealed)).toEqual(secret);
    expect(openSealed(sealingSecretOfSigningKey(mallory.secretKey), sealed)).toBeUndefined();
  });

  it('derives the same X25519 pair as the key pair the secret half gives (the map is consistent)', () => {
    for (let i = 0; i < 20; i += 1) {
      const signing = generateSigningKeyPair();
      const secret = sealingSecretOfSigningKey(signing.secretKey);
      expect(nacl.box.keyPair.fromSecretKey(secret).publicKey).toEqual(sealingKeyOfSigningKey(signing.publicKey));
    }
  });

  it('refuses bytes that are not an Ed25519 point', () => {
    // y = 2 is not on the curve (x² = (y² − 1)/(d y² + 1) has no square root for it).
    const notAPoint = new Uint8Array(32);
    notAPoint[0] = 2;
    expect(sealingKeyOfSigningKey(notAPoint)).toBeUndefined();
  });
});
