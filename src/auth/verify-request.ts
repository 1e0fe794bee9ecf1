import { AuthenticationError } from '../errors/cleanroom-error.ts';
import { parsePublicKey } from '../crypto/signing-keys.ts';
import { verify } from '../crypto/signatures.ts';
import type { NonceCache } from './nonce-cache.ts';
import { SIGNATURE_HEADERS, canonicalRequest, decodeSignature } from './request-signature.ts';

export interface VerifyContext {
  readonly method: string;
  readonly path: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly now: number;
  readonly windowMs: number;
  /** Requests stamped before the room started are refused: the nonce cache is in memory. */
  readonly notBefore: number;
  readonly nonces: NonceCache;
  /** True when the key belongs to some principal of some loaded policy. */
  readonly isKnownKey: (publicKeyText: string) => boolean;
}

const header = (headers: VerifyContext['headers'], name: string): string | undefined => {
  const value = headers[name];
  return typeof value === 'string' ? value : undefined;
};

/**
 * Checks a signed request and returns the signer's public key and the declared body hash. The
 * order makes refusals cheap: shape, freshness and key lookup before the signature, the nonce
 * last so a forged request cannot burn a legitimate nonce.
 */
export function verifyRequest(ctx: VerifyContext): { publicKeyText: string; contentSha256: string } {
  const key = header(ctx.headers, SIGNATURE_HEADERS.key);
  const timestamp = header(ctx.headers, SIGNATURE_HEADERS.timestamp);
  const nonce = header(ctx.headers, SIGNATURE_HEADERS.nonce);
  const contentSha256 = header(ctx.headers, SIGNATURE_HEADERS.contentSha256);
  const signatureText = header(ctx.headers, SIGNATURE_HEADERS.signature);
  const missing = Object.values(SIGNATURE_HEADERS).filter((name) => header(ctx.headers, name) === undefined);
  if (!key || !timestamp || !nonce || !contentSha256 || !signatureText) {
    throw new AuthenticationError('AUTH_MISSING', 'This request must be signed by a principal key.', {
      missingHeaders: missing,
    });
  }
  const stamped = Number(timestamp);
  if (!/^\d{1,16}$/.test(timestamp) || Math.abs(ctx.now - stamped) > ctx.windowMs || stamped < ctx.notBefore) {
    throw new AuthenticationError(
      'AUTH_STALE',
      `The request timestamp is outside the ${ctx.windowMs / 1000} s window (or older than the room's start); ` +
        `sign it again with a current clock.`,
      {
        windowMs: ctx.windowMs,
      },
    );
  }
  if (!/^[A-Za-z0-9_-]{16,64}$/.test(nonce))
    throw new AuthenticationError('AUTH_MALFORMED', 'The nonce must be 16-64 base64url characters.');
  const publicKey = parsePublicKey(key);
  if (!publicKey || !ctx.isKnownKey(key)) {
    throw new AuthenticationError('AUTH_UNKNOWN_KEY', 'No principal of any collaboration in this room has this key.');
  }
  const signature = decodeSignature(signatureText);
  const parts = { method: ctx.method, path: ctx.path, timestamp, nonce, contentSha256 };
  if (!signature || !verify(canonicalRequest(parts), signature, publicKey)) {
    throw new AuthenticationError(
      'AUTH_BAD_SIGNATURE',
      'The signature does not match this request (method, path, timestamp, nonce, body hash) and key.',
    );
  }
  if (!ctx.nonces.remember(`${key}:${nonce}`, ctx.now)) {
    throw new AuthenticationError('AUTH_REPLAYED', 'This nonce was already used: the request is a replay.');
  }
  return { publicKeyText: key, contentSha256 };
}
