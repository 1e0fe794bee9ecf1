import { randomUUID } from 'node:crypto';
import { ForbiddenError, NotFoundError, TooManyRequestsError } from '../errors/cleanroom-error.ts';
import * as machine from './psi-session.ts';
import type { PsiMessageKind, PsiSession, PsiSessionView } from './psi-session.ts';
import type { PsiRule } from './psi-rules.ts';

export interface PsiSessionRegistryOptions {
  /** Milliseconds since the epoch; injected so expiry and the daily limit are testable. */
  readonly clock?: () => number;
  readonly newId?: () => string;
}

const DAY_MS = 86_400_000;

/**
 * Live PSI sessions, in memory only: a restart forgets them, which is the point (nothing about a
 * session is worth persisting, and its messages must not reach disk). Also enforces
 * maxSessionsPerDay per collaboration and member pair, by UTC day.
 */
export class PsiSessionRegistry {
  readonly #sessions = new Map<string, PsiSession>();
  readonly #opened = new Map<string, { day: number; count: number }>();
  readonly #clock: () => number;
  readonly #newId: () => string;

  constructor(options: PsiSessionRegistryOptions = {}) {
    this.#clock = options.clock ?? Date.now;
    this.#newId = options.newId ?? randomUUID;
  }

  /** Opens a session under `rule` for one of its two members; the rule comes from the active policy. */
  open(collaborationId: string, rule: PsiRule, member: string): PsiSessionView {
    if (member !== rule.server && member !== rule.client) {
      throw new ForbiddenError('PSI_NOT_A_PARTY', 'Only the PSI server or client member may open a session.', { collaborationId });
    }
    const now = this.#clock();
    const day = Math.floor(now / DAY_MS);
    const pair = JSON.stringify([collaborationId, rule.server, rule.client]);
    const used = this.#opened.get(pair);
    const count = used?.day === day ? used.count : 0;
    if (count >= rule.maxSessionsPerDay) {
      throw new TooManyRequestsError('PSI_RATE_LIMITED', 'This member pair has used its PSI sessions for today.', {
        maxSessionsPerDay: rule.maxSessionsPerDay, retryAfterSeconds: Math.ceil(((day + 1) * DAY_MS - now) / 1000),
      });
    }
    this.#opened.set(pair, { day, count: count + 1 });
    const session = machine.openPsiSession(this.#newId(), collaborationId, rule, now);
    this.#sessions.set(session.id, session);
    return machine.viewOf(session);
  }

  /** The session as its member sees it; unknown and foreign sessions look the same (404). */
  view(id: string, member: string): PsiSessionView {
    return machine.viewOf(machine.atTime(this.#get(id, member), this.#clock()));
  }

  /** Refuses, without the message's bytes, a message `member` may not post into the session now. */
  admitPost(id: string, member: string, kind: PsiMessageKind): void {
    machine.admitPost(this.#get(id, member), member, kind, this.#clock());
  }

  postSetup(id: string, member: string, bytes: Uint8Array): PsiSessionView {
    return this.#put(machine.postSetup(this.#get(id, member), member, bytes, this.#clock()));
  }

  postRequest(id: string, member: string, bytes: Uint8Array): PsiSessionView {
    return this.#put(machine.postRequest(this.#get(id, member), member, bytes, this.#clock()));
  }

  postResponse(id: string, member: string, bytes: Uint8Array): PsiSessionView {
    return this.#put(machine.postResponse(this.#get(id, member), member, bytes, this.#clock()));
  }

  readSetup(id: string, member: string): Uint8Array {
    return machine.readSetup(this.#get(id, member), member, this.#clock());
  }

  readRequest(id: string, member: string): Uint8Array {
    return machine.readRequest(this.#get(id, member), member, this.#clock());
  }

  readResponse(id: string, member: string): Uint8Array {
    const { session, bytes } = machine.readResponse(this.#get(id, member), member, this.#clock());
    this.#put(session);
    return bytes;
  }

  /** Drops expired sessions and stale day counters; returns how many sessions were dropped. */
  sweep(): number {
    const now = this.#clock();
    let dropped = 0;
    for (const [id, session] of this.#sessions) {
      if (machine.atTime(session, now).state === 'expired') {
        this.#sessions.delete(id);
        dropped += 1;
      }
    }
    const today = Math.floor(now / DAY_MS);
    for (const [pair, used] of this.#opened) if (used.day !== today) this.#opened.delete(pair);
    return dropped;
  }

  #get(id: string, member: string): PsiSession {
    const session = this.#sessions.get(id);
    if (session === undefined || (member !== session.rule.server && member !== session.rule.client)) {
      throw new NotFoundError('PSI_SESSION_NOT_FOUND', 'No such PSI session.', { sessionId: id });
    }
    return session;
  }

  #put(session: PsiSession): PsiSessionView {
    this.#sessions.set(session.id, session);
    return machine.viewOf(session);
  }
}
