/** Details are data a client can act on: never a stack, a key or a row of a dataset. */
export type ErrorDetails = Readonly<Record<string, unknown>>;

/**
 * The one error family. Each subclass fixes the HTTP status; `code` is a stable machine-readable
 * string, `message` a sentence for a person. `cause` is for the room's log only (an engine or
 * file-system error, already stripped of data values); a response never carries it.
 */
export abstract class CleanroomError extends Error {
  abstract readonly status: number;
  readonly code: string;
  readonly details: ErrorDetails;

  constructor(code: string, message: string, details: ErrorDetails = {}, options: { cause?: unknown } = {}) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.details = details;
  }
}

/** The request or document is malformed (400). */
export class InvalidInputError extends CleanroomError {
  readonly status = 400;
}

/** No valid signature from a known key (401). */
export class AuthenticationError extends CleanroomError {
  readonly status = 401;
}

/** Authenticated, but no role or rule allows the act (403). */
export class ForbiddenError extends CleanroomError {
  readonly status = 403;
}

/** The thing named does not exist, or the caller may not know it does (404). */
export class NotFoundError extends CleanroomError {
  readonly status = 404;
}

/** The act conflicts with the current state: a stale version, an inactive collaboration (409). */
export class ConflictError extends CleanroomError {
  readonly status = 409;
}

/** The client stopped sending a body it had begun: an upload idle past the room's limit (408). */
export class RequestTimeoutError extends CleanroomError {
  readonly status = 408;
}

/** The body is larger than the configured limit (413). */
export class PayloadTooLargeError extends CleanroomError {
  readonly status = 413;
}

/** The content is well-formed but refused: a policy violation, a schema mismatch (422). */
export class UnprocessableError extends CleanroomError {
  readonly status = 422;
}

/** A rate limit or budget is exhausted (429). */
export class TooManyRequestsError extends CleanroomError {
  readonly status = 429;
}

/** The room could not finish now: a query over its statement timeout, a full or read-only disk (503). */
export class UnavailableError extends CleanroomError {
  readonly status = 503;
}
