import type { IncomingMessage } from 'node:http';
import express, { type Request, type RequestHandler, type Response } from 'express';
import { STREAMED_ENVELOPE } from '../auth/request-signature.ts';
import { firstIllFormedString, sha256Hex } from '../crypto/hashing.ts';
import { AuthenticationError, InvalidInputError, PayloadTooLargeError } from '../errors/cleanroom-error.ts';
import { documentRefused } from '../errors/refused-error.ts';
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
    const verified = room.verifyRequest({ method: req.method, path: req.originalUrl, headers: req.headers });
    res.locals.callerKey = verified.publicKeyText;
    res.locals.principal = room.principalIdsOf(verified.publicKeyText).join(',');
    res.locals.contentSha256 = verified.contentSha256;
    next();
  };
}

/** Reads a JSON body (bounded), checks it is the body that was signed, parses and validates it. */
export function signedJsonBody(room: Room, validator?: Validator<unknown>): RequestHandler[] {
  const raw = express.raw({ type: () => true, limit: room.limits.maxJsonBytes });
  const check: RequestHandler = (req, res, next) => {
    const bytes = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    if (res.locals.contentSha256 === STREAMED_ENVELOPE || sha256Hex(bytes) !== res.locals.contentSha256) {
      throw new AuthenticationError(
        'AUTH_BODY_MISMATCH',
        'The body is not the one the signature covers (x-cleanroom-content-sha256).',
      );
    }
    let parsed: unknown = undefined;
    if (bytes.length > 0) {
      try {
        parsed = JSON.parse(bytes.toString('utf8'));
      } catch {
        throw new InvalidInputError('INVALID_JSON', 'The request body is not valid JSON.');
      }
      // A lone surrogate (valid as a JSON escape) has no canonical form: nothing could hash or sign it.
      const illFormed = firstIllFormedString(parsed);
      if (illFormed !== undefined)
        throw new InvalidInputError(
          'INVALID_TEXT',
          `The request body holds text that is not well-formed Unicode (a lone surrogate) at ${illFormed}.`,
          { pointer: illFormed },
        );
    }
    if (validator) {
      const checked = validator(parsed ?? {});
      if (!checked.ok)
        throw documentRefused('INVALID_REQUEST_BODY', 'The request body is invalid:', checked.diagnostics);
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
    throw new AuthenticationError(
      'AUTH_BODY_MISMATCH',
      `An upload is signed with x-cleanroom-content-sha256: ${STREAMED_ENVELOPE}; its envelope carries the ` +
        `signed manifest.`,
    );
  }
  next();
};

/** The body length a request declares, or undefined for a chunked body. */
export function declaredLength(req: IncomingMessage): number | undefined {
  const header = req.headers['content-length'];
  return header !== undefined && /^\d+$/.test(header) ? Number(header) : undefined;
}

/**
 * For handlers that decide before reading whether to read a body at all: any refusal while the
 * body is unread answers with `Connection: close`, so Node neither waits for nor drains bytes the
 * room will not use (keep-alive would make it read the rest). The answer is written before the
 * socket closes, so the client still receives it.
 */
export function refuseUnreadBody(handler: (req: Request, res: Response) => Promise<void>): RequestHandler {
  return async (req, res) => {
    try {
      await handler(req, res);
    } catch (error) {
      if (!req.complete && !res.headersSent) res.setHeader('connection', 'close');
      throw error;
    }
  };
}

/** Reads a body the handler has admitted, at most `limit` bytes, and checks it is the body that was signed. */
export async function readSignedBytes(req: Request, contentSha256: string, limit: number): Promise<Uint8Array> {
  if (!/^[0-9a-f]{64}$/.test(contentSha256))
    throw new AuthenticationError(
      'AUTH_BODY_MISMATCH',
      'This body must be signed with its SHA-256 (x-cleanroom-content-sha256).',
    );
  // With a declared length the body is read straight into one buffer of that size (a 320 MB PSI
  // message is then held once, not as pieces plus their concatenation). Node's parser ends the
  // body at the declared length, so a body never overruns it.
  const declared = declaredLength(req);
  const into = declared !== undefined && declared <= limit ? Buffer.allocUnsafeSlow(declared) : undefined;
  const pieces: Buffer[] = [];
  let total = 0;
  try {
    for await (const piece of req as AsyncIterable<Buffer>) {
      if (total + piece.length > limit)
        throw new PayloadTooLargeError(
          'BODY_TOO_LARGE',
          `The request body is larger than the limit of ${limit} bytes.`,
          { limit },
        );
      if (into) piece.copy(into, total);
      else pieces.push(piece);
      total += piece.length;
    }
  } catch (error) {
    if (error instanceof PayloadTooLargeError) throw error;
    throw new InvalidInputError('REQUEST_ABORTED', 'The client stopped sending the request body.');
  }
  if (into && total !== into.length)
    throw new InvalidInputError('REQUEST_ABORTED', 'The client stopped sending the request body.');
  const bytes = into ?? Buffer.concat(pieces, total);
  if (sha256Hex(bytes) !== contentSha256)
    throw new AuthenticationError('AUTH_BODY_MISMATCH', 'The body is not the one the signature covers.');
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
}
