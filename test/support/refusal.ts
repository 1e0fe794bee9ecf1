import { RoomRequestError } from '../../src/client/room-client.ts';

export interface Refusal {
  readonly status: number;
  readonly code: string;
  readonly details?: Record<string, unknown>;
}

/**
 * What a room call ended with: the HTTP status, error code and details of a refusal, or
 * `ACCEPTED` (details only when asked for, so assertions can compare status and code exactly). Errors that are not the
 * room's (and carry a code, like a CleanroomError raised on
 * the client) report their code with status 0; anything else is rethrown.
 */
export async function refusal(promise: Promise<unknown>, options: { details?: boolean } = {}): Promise<Refusal> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof RoomRequestError)
      return { status: error.status, code: error.code, ...(options.details ? { details: error.details } : {}) };
    if (error && typeof error === 'object' && 'code' in error)
      return { status: 0, code: String((error as { code: unknown }).code) };
    throw error;
  }
  return { status: 0, code: 'ACCEPTED' };
}
