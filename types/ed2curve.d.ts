// ed2curve 0.3.0 (by tweetnacl's author) ships no types; this declares the two functions src/crypto
// uses. It is CommonJS (UMD), so Node hands ES modules its exports object as the default import.
declare module 'ed2curve' {
  const ed2curve: {
    /** An Ed25519 public key's X25519 (Montgomery) form; null when it is not a valid point. */
    convertPublicKey(publicKey: Uint8Array): Uint8Array | null;
    /** An Ed25519 secret key's (seed ‖ public) X25519 secret: the clamped first half of SHA-512(seed). */
    convertSecretKey(secretKey: Uint8Array): Uint8Array;
  };
  export default ed2curve;
}
