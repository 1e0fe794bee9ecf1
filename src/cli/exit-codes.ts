import { CommanderError } from 'commander';
import { RoomRequestError, RoomUnreachableError } from '../client/room-client.ts';
import { CleanroomError } from '../errors/cleanroom-error.ts';

/**
 * What `cleanroom` exits with, so a script can tell "fix the command" from "the room said no" from
 * "try again later" without reading the message. Documented in the README; stable once published.
 */
export const EXIT = {
  ok: 0,
  /** anything not below: a local file that cannot be read, an answer the client did not expect */
  failure: 1,
  /** the command line: an unknown command or option, a missing value, options that conflict */
  usage: 2,
  /** the room refused by a rule: a policy, a role, a threshold, a budget or rate limit (403, 422, 429) */
  refused: 3,
  /** the room did not accept the key: not a principal of the collaboration, a bad signature (401) */
  auth: 4,
  /** the room could not be reached, or said to come back later (502, 503, 504) after the retries */
  unreachable: 5,
  /** the collaboration, dataset, template, model or session named does not exist (404) */
  notFound: 6,
  /** the room's state is not what the command assumed: a stale version, data not loaded (409) */
  conflict: 7,
  /** the request or file was malformed or too large (400, 408, 413) */
  invalid: 8,
} as const;

/** The command line is wrong in a way the parser cannot see: options that conflict, a value out of range. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

function byStatus(status: number): number {
  if (status === 401) return EXIT.auth;
  if (status === 403 || status === 422 || status === 429) return EXIT.refused;
  if (status === 404) return EXIT.notFound;
  if (status === 409) return EXIT.conflict;
  if (status === 400 || status === 408 || status === 413) return EXIT.invalid;
  if (status === 502 || status === 503 || status === 504) return EXIT.unreachable;
  return EXIT.failure;
}

export function exitCodeOf(error: unknown): number {
  if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
  if (error instanceof UsageError) return EXIT.usage;
  if (error instanceof RoomUnreachableError) return EXIT.unreachable;
  if (error instanceof RoomRequestError || error instanceof CleanroomError) return byStatus(error.status);
  return EXIT.failure;
}
