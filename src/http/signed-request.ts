import express, { type RequestHandler } from 'express';
import { STREAMED_ENVELOPE } from '../auth/request-signature.ts';
import { verifyRequest } from '../auth/verify-request.ts';
import { sha256Hex } from '../crypto/hashing.ts';
import { AuthenticationError, InvalidInputError } from '../errors/cleanroom-error.ts';
import type { Room } from '../room/room.ts';
import type { Validator } from '../validation/json-validator.ts';

/** What the signature check leaves for handlers. */
export interface CallerLocals {
  callerKey: string;
  body: unknown;
}

/** Checks the signature headers before any body byte is read, so unknown keys cost nothing. */
export function signedHeaders(room: Room): RequestHandler {
  return (req, res, next) => {
    const verified = verifyRequest({
      method: req.method,
      path: req.originalUrl,
      headers: req.headers,
      now: Date.now(),
      windowMs: room.config.signatureWindowMs,
      notBefore: room.startedAt - 1000,
      nonces: room.nonces,
      isKnownKey: room.isKnownKey,
    });
    res.locals.callerKey = verified.publicKeyText;
    res.locals.contentSha256 = verified.contentSha256;
    next();
  };
}

/** Reads a JSON body (bounded), checks it is the body that was signed, parses and validates it. */
export function signedJsonBody(room: Room, validator?: Validator<unknown>): RequestHandler[] {
  const raw = express.raw({ type: () => true, limit: room.config.maxJsonBytes });
  const check: RequestHandler = (req, res, next) => {
    const bytes = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    if (res.locals.contentSha256 === STREAMED_ENVELOPE || sha256Hex(bytes) !== res.locals.contentSha256) {
      throw new AuthenticationError('AUTH_BODY_MISMATCH', 'The body is not the one the signature covers (x-cleanroom-content-sha256).');
    }
    let parsed: unknown = undefined;
    if (bytes.length > 0) {
      try {
        parsed = JSON.parse(bytes.toString('utf8'));
      } catch {
        throw new InvalidInputError('INVALID_JSON', 'The request body is not valid JSON.');
      }
    }
    if (validator) {
      const checked = validator(parsed ?? {});
      if (!checked.ok) throw new InvalidInputError('INVALID_REQUEST_BODY', 'The request body is invalid.', { problems: checked.problems });
      parsed = checked.value;
    }
    res.locals.body = parsed;
    next();
  };
  return [raw, check];
}

/** For streamed envelope uploads: the envelope's signed trailer authenticates the body. */
export const streamedEnvelopeBody: RequestHandler = (_req, res, next) => {
  if (res.locals.contentSha256 !== STREAMED_ENVELOPE) {
    throw new AuthenticationError('AUTH_BODY_MISMATCH', `An upload is signed with x-cleanroom-content-sha256: ${STREAMED_ENVELOPE}; its envelope carries the signed manifest.`);
  }
  next();
};
