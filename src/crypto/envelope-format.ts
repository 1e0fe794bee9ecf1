/**
 * The sealed envelope, version 1 (documented in README, "Upload format"):
 *
 *   "CLRMENV1"                            8-byte magic
 *   frame 'H'  header JSON                { v, cipher, chunkSize, noncePrefix, sealedKey }
 *   frame 'C'  sealed chunk               zero or more, each exactly chunkSize plaintext bytes
 *   frame 'F'  final sealed chunk         exactly one, 0..chunkSize plaintext bytes
 *   frame 'T'  trailer JSON               { manifest, signature, signer }
 *
 * A frame is type(1) ‖ length(u32 BE) ‖ payload. The manifest's `envelopeSha256` is the SHA-256
 * of every byte before the 'T' frame, so the provider's signature covers the key header and all
 * ciphertext; the trailer comes last so the client encrypts in one streaming pass.
 */
export const ENVELOPE_MAGIC = new TextEncoder().encode('CLRMENV1');

export const FrameType = { header: 0x48, chunk: 0x43, finalChunk: 0x46, trailer: 0x54 } as const;

export const MAX_JSON_FRAME_BYTES = 64 * 1024;
export const MIN_CHUNK_SIZE = 1024;
export const MAX_CHUNK_SIZE = 16 * 1024 * 1024;
export const DEFAULT_CHUNK_SIZE = 1024 * 1024;

export interface EnvelopeHeader {
  readonly v: 1;
  readonly cipher: 'chacha20-poly1305';
  readonly chunkSize: number;
  /** base64, 7 bytes */
  readonly noncePrefix: string;
  /** base64: the data key sealed to the room's X25519 key (see sealing.ts) */
  readonly sealedKey: string;
}

export interface EnvelopeTrailer {
  /** The signed manifest, as a JSON object; its meaning belongs to the upload module. */
  readonly manifest: Readonly<Record<string, unknown>>;
  /** base64 Ed25519 signature over `manifestSigningBytes(manifest)` */
  readonly signature: string;
  /** base64 Ed25519 public key of the signer */
  readonly signer: string;
}
