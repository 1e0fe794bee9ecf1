import type { ErrorRequestHandler, RequestHandler } from 'express';
import { CleanroomError, NotFoundError } from '../errors/cleanroom-error.ts';
import type { Logger } from '../log/logger.ts';

export interface ErrorBody {
  readonly error: {
    readonly code: string;
    readonly message: string;
    readonly details: Readonly<Record<string, unknown>>;
  };
}

export const body = (code: string, message: string, details: Record<string, unknown> = {}): ErrorBody => ({
  error: { code, message, details },
});

/** Errors raised by express's own body parsing carry a `type` and a `status`. */
interface ParserError {
  type?: string;
  status?: number;
  limit?: number;
}

/**
 * The one place errors become responses: a CleanroomError answers with its status and data; a
 * body-parser failure with a clear 4xx; anything else is logged in full and answered with a bare 500.
 */
export function errorHandler(log: Logger): ErrorRequestHandler {
  return (error: unknown, req, res, next) => {
    if (res.headersSent) return next(error);
    res.locals.errorCode = error instanceof CleanroomError ? error.code : 'INTERNAL';
    if (error instanceof CleanroomError) {
      // The cause (a disk or engine error, never a data value) is for the operator, not the client.
      if (error.status >= 500)
        log.warn(
          { code: error.code, path: req.path, cause: error.cause instanceof Error ? error.cause.message : undefined },
          error.message,
        );
      const retryAfter = error.details['retryAfterSeconds'];
      if (typeof retryAfter === 'number' && Number.isFinite(retryAfter))
        res.setHeader('retry-after', String(Math.max(0, Math.ceil(retryAfter))));
      res.status(error.status).json(body(error.code, error.message, { ...error.details }));
      return;
    }
    const parser = error as ParserError;
    if (parser.type === 'entity.too.large') {
      res.status(413).json(
        body('BODY_TOO_LARGE', `The request body is larger than the limit of ${parser.limit ?? '?'} bytes.`, {
          limit: parser.limit,
        }),
      );
      return;
    }
    if (parser.type === 'request.aborted') {
      res.status(400).json(body('REQUEST_ABORTED', 'The client stopped sending the request body.'));
      return;
    }
    log.error({ err: error, path: req.path }, 'unexpected error');
    res.status(500).json(body('INTERNAL', 'The room hit an unexpected error; it has been logged.'));
  };
}

export const notFoundHandler: RequestHandler = (req, _res, next) =>
  next(
    new NotFoundError('ROUTE_NOT_FOUND', `No route ${req.method} ${req.path}.`, { method: req.method, path: req.path }),
  );
