import { PayloadTooLargeError, TooManyRequestsError, UnavailableError } from '../errors/cleanroom-error.ts';
import type { PsiEngine } from './psi-rules.ts';
import { maxMessageBytes } from './psi-session.ts';

/** Bytes the relay may read into one message; `release()` gives them back (idempotent). */
export interface PsiReservation {
  readonly limit: number;
  release(): void;
}

/** A busy relay frees bytes as fast as members upload; a few seconds is a fair first wait. */
const BUSY_RETRY_SECONDS = 5;
/** A second upload into one session waits for the first to be answered, which is quick once read. */
const IN_FLIGHT_RETRY_SECONDS = 1;

/**
 * How many PSI message bytes the relay reads at once, room-wide, with at most one message in
 * flight per session. Bytes are reserved before a body is read (the declared length, or the
 * largest admissible message when none is declared) and given back once the message has been
 * handled, refused, or its sender went away; so N concurrent uploads hold at most the capacity,
 * never N times the message limit. In memory, like the sessions it guards.
 */
export class PsiMessageBudget {
  #reserved = 0;
  readonly #sessions = new Set<string>();

  constructor(readonly capacityBytes: number) {}

  /** The largest message this room can take: the largest engine's limit, or the whole budget if smaller. */
  get messageLimit(): number {
    return this.limitFor('native');
  }

  /** The largest message of a session on `engine`: its protocol's limit, or the whole budget if smaller. */
  limitFor(engine: PsiEngine): number {
    return Math.min(maxMessageBytes(engine), this.capacityBytes);
  }

  /** Bytes reserved by messages being received now. */
  get reservedBytes(): number {
    return this.#reserved;
  }

  /** Reserves room for one message into `sessionId`, or refuses before any byte is read. */
  reserve(sessionId: string, declaredBytes: number | undefined, engine: PsiEngine = 'psi.js'): PsiReservation {
    const limit = this.limitFor(engine);
    if (declaredBytes !== undefined && declaredBytes > limit) {
      throw new PayloadTooLargeError('PSI_MESSAGE_TOO_LARGE', 'The PSI message is too large.', {
        bytes: declaredBytes,
        limit,
      });
    }
    if (this.#sessions.has(sessionId)) {
      throw new TooManyRequestsError(
        'PSI_UPLOAD_IN_FLIGHT',
        'Another message for this PSI session is still being received; retry once it has been answered.',
        {
          sessionId,
          retryAfterSeconds: IN_FLIGHT_RETRY_SECONDS,
        },
      );
    }
    const bytes = declaredBytes ?? limit;
    if (this.#reserved + bytes > this.capacityBytes) {
      throw new UnavailableError(
        'PSI_RELAY_BUSY',
        'The room is receiving as many PSI message bytes as it takes at once; retry shortly.',
        {
          retryAfterSeconds: BUSY_RETRY_SECONDS,
        },
      );
    }
    this.#reserved += bytes;
    this.#sessions.add(sessionId);
    let released = false;
    return {
      limit: bytes,
      release: () => {
        if (released) return;
        released = true;
        this.#reserved -= bytes;
        this.#sessions.delete(sessionId);
      },
    };
  }
}
