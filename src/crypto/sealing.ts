import nacl from 'tweetnacl';
import ed2curve from 'ed2curve';

/** An X25519 key pair for sealing data keys to the room. */
export interface SealingKeyPair {
  readonly publicKey: Uint8Array;
  readonly secretKey: Uint8Array;
}

export const generateSealingKeyPair = (): SealingKeyPair => nacl.box.keyPair();

export const sealingKeyPairFromSecret = (secretKey: Uint8Array): SealingKeyPair =>
  nacl.box.keyPair.fromSecretKey(secretKey);

const EPHEMERAL = nacl.box.publicKeyLength;
const NONCE = nacl.box.nonceLength;

/**
 * Seals a small secret (a data key) to a recipient's X25519 public key with a fresh ephemeral
 * sender key: ephemeralPublic(32) ‖ nonce(24) ‖ box. Only the recipient can open it, and the
 * sender keeps no secret that could open it later.
 */
export function sealTo(recipientPublicKey: Uint8Array, secret: Uint8Array): Uint8Array {
  const ephemeral = nacl.box.keyPair();
  const nonce = nacl.randomBytes(NONCE);
  const box = nacl.box(secret, nonce, recipientPublicKey, ephemeral.secretKey);
  const out = new Uint8Array(EPHEMERAL + NONCE + box.length);
  out.set(ephemeral.publicKey, 0);
  out.set(nonce, EPHEMERAL);
  out.set(box, EPHEMERAL + NONCE);
  return out;
}

/** Opens what `sealTo` made; undefined when the blob was tampered with or sealed to another key. */
export function openSealed(recipientSecretKey: Uint8Array, sealed: Uint8Array): Uint8Array | undefined {
  if (sealed.length < EPHEMERAL + NONCE + nacl.box.overheadLength) return undefined;
  const opened = nacl.box.open(
    sealed.subarray(EPHEMERAL + NONCE),
    sealed.subarray(EPHEMERAL, EPHEMERAL + NONCE),
    sealed.subarray(0, EPHEMERAL),
    recipientSecretKey,
  );
  return opened ?? undefined;
}

/** Wraps a key under a symmetric key (the master key or a dataset storage key): nonce(24) ‖ secretbox. */
export function wrapKey(wrappingKey: Uint8Array, key: Uint8Array): Uint8Array {
  const nonce = nacl.randomBytes(nacl.secretbox.nonceLength);
  const box = nacl.secretbox(key, nonce, wrappingKey);
  const out = new Uint8Array(nonce.length + box.length);
  out.set(nonce, 0);
  out.set(box, nonce.length);
  return out;
}

/** Unwraps what `wrapKey` made; undefined on a wrong key or tampering. */
export function unwrapKey(wrappingKey: Uint8Array, wrapped: Uint8Array): Uint8Array | undefined {
  const n = nacl.secretbox.nonceLength;
  if (wrapped.length < n + nacl.secretbox.overheadLength) return undefined;
  return nacl.secretbox.open(wrapped.subarray(n), wrapped.subarray(0, n), wrappingKey) ?? undefined;
}

/** 32 random bytes from tweetnacl's CSPRNG (which uses node:crypto underneath). */
export const randomKey = (): Uint8Array => nacl.randomBytes(32);

/**
 * The X25519 public key a principal's Ed25519 signing key stands for (the birational map of
 * RFC 7748 §4.1, through ed2curve): what the room seals an extract to, so a recipient needs no
 * second key. Undefined when the bytes are not a valid Ed25519 point.
 */
export function sealingKeyOfSigningKey(signingPublicKey: Uint8Array): Uint8Array | undefined {
  return ed2curve.convertPublicKey(signingPublicKey) ?? undefined;
}

/** The X25519 secret key that opens what was sealed to `sealingKeyOfSigningKey` of the same principal. */
export function sealingSecretOfSigningKey(signingSecretKey: Uint8Array): Uint8Array {
  return ed2curve.convertSecretKey(signingSecretKey);
}
