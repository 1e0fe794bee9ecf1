import { randomBytes } from 'node:crypto';
import { fromBase64, toBase64 } from '../crypto/bytes.ts';
import { sign } from '../crypto/signatures.ts';

export const SIGNATURE_HEADERS = {
  key: 'x-cleanroom-key',
  timestamp: 'x-cleanroom-timestamp',
  nonce: 'x-cleanroom-nonce',
  contentSha256: 'x-cleanroom-content-sha256',
  signature: 'x-cleanroom-signature',
} as const;

/**
 * The body hash of a streamed envelope upload. The envelope carries its own signed manifest over
 * every ciphertext byte, so the request signature need not (and cannot, in one pass) cover it.
 */
export const STREAMED_ENVELOPE = 'STREAMED-ENVELOPE';

export interface SignedParts {
  readonly method: string;
  /** path with query string, exactly as sent */
  readonly path: string;
  readonly timestamp: string;
  readonly nonce: string;
  readonly contentSha256: string;
}

/** What the principal signs: every part that, changed, would change the request's meaning. */
export const canonicalRequest = (parts: SignedParts): Uint8Array =>
  new TextEncoder().encode(
    [
      'CLEANROOM-REQUEST-V1',
      parts.method.toUpperCase(),
      parts.path,
      parts.timestamp,
      parts.nonce,
      parts.contentSha256,
    ].join('\n'),
  );

export interface RequestSigner {
  readonly publicKeyText: string;
  readonly secretKey: Uint8Array;
}

/** The five headers of a signed request. */
export function signRequest(
  signer: RequestSigner,
  method: string,
  path: string,
  contentSha256: string,
  now = Date.now(),
): Record<string, string> {
  const parts: SignedParts = {
    method,
    path,
    timestamp: String(now),
    nonce: randomBytes(16).toString('base64url'),
    contentSha256,
  };
  return {
    [SIGNATURE_HEADERS.key]: signer.publicKeyText,
    [SIGNATURE_HEADERS.timestamp]: parts.timestamp,
    [SIGNATURE_HEADERS.nonce]: parts.nonce,
    [SIGNATURE_HEADERS.contentSha256]: contentSha256,
    [SIGNATURE_HEADERS.signature]: toBase64(sign(canonicalRequest(parts), signer.secretKey)),
  };
}

export const decodeSignature = (text: string): Uint8Array | undefined => fromBase64(text, 64);
