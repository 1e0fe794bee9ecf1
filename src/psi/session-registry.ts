import { randomInt, randomUUID } from 'node:crypto';
import { NotFoundError } from '../errors/cleanroom-error.ts';
import { diagnostic } from '../errors/diagnostic.ts';
import { refusalOf } from '../errors/refused-error.ts';
import * as machine from './psi-session.ts';
import type { PsiMessageKind, PsiSession, PsiSessionView } from './psi-session.ts';
import { requireCountAllowed } from './psi-rules.ts';
import type { PsiCount, PsiRule } from './psi-rules.ts';

export interface PsiSessionRegistryOptions {
  /** Milliseconds since the epoch; injected so expiry is testable. */
  readonly clock?: () => number;
  readonly newId?: () => string;
  /** Room-counted sessions: positions of each answer the room checks (0 checks none: tests only). */
  readonly verifySamples?: number;
}

/**
 * Positions of each doubly-blinded set the room re-computes from the revealed keys. A member that
 * deviates at a fraction f of positions (what a probe needs to make one identifier count more than
 * once) passes with probability (1 − f)^n, so an undetected deviation that also hits the probed
 * identifier has probability at most max_f f(1 − f)^n < 1/(e·n) ≈ 9·10⁻⁵ (PROTOCOL.md). Sets of
 * at most n elements are checked whole. Cost: 2n X25519 multiplications, ~0.35 s.
 */
export const PSI_VERIFY_SAMPLES = 4096;

/**
 * All positions when there are at most `samples`, else `samples` distinct ones from the CSPRNG.
 * Picked when an answer arrives (after its sender committed to it), never shown to a member.
 */
export function randomPositions(samples: number): machine.PickPositions {
  return (count) => {
    if (count <= samples) return Uint32Array.from({ length: count }, (_, i) => i);
    const chosen = new Set<number>();
    while (chosen.size < samples) chosen.add(randomInt(count));
    return Uint32Array.from(chosen);
  };
}

/**
 * Live PSI sessions, in memory only: a restart forgets them, which is the point (nothing about a
 * session is worth persisting, and its messages must not reach disk). The daily session limit is
 * not kept here: it must survive a restart, so the room counts opens in its state database
 * (src/room/psi-daily-sessions.ts) before it adds a session.
 */
export class PsiSessionRegistry {
  readonly #sessions = new Map<string, PsiSession>();
  readonly #clock: () => number;
  readonly #newId: () => string;
  readonly #pick: machine.PickPositions;

  constructor(options: PsiSessionRegistryOptions = {}) {
    this.#clock = options.clock ?? Date.now;
    this.#newId = options.newId ?? randomUUID;
    this.#pick = randomPositions(options.verifySamples ?? PSI_VERIFY_SAMPLES);
  }

  /**
   * A new session under `rule` for one of its two members, not yet live: the caller records it
   * (the day's count, the audit entry) and then `add`s it. The rule comes from the active policy.
   */
  create(collaborationId: string, rule: PsiRule, member: string, count: PsiCount = 'room'): PsiSession {
    if (member !== rule.server && member !== rule.client) {
      const message = 'Only the PSI server or client member may open a session.';
      throw refusalOf(diagnostic('PSI_NOT_A_PARTY', message, 'psi.server and psi.client', { collaborationId }));
    }
    requireCountAllowed(rule, count);
    return machine.openPsiSession(this.#newId(), collaborationId, rule, this.#clock(), count);
  }

  /** Makes a created session live. */
  add(session: PsiSession): PsiSessionView {
    return this.#put(session);
  }

  /** `create` then `add`, where nothing needs recording in between (an in-memory relay, tests). */
  open(collaborationId: string, rule: PsiRule, member: string, count: PsiCount = 'room'): PsiSessionView {
    return this.add(this.create(collaborationId, rule, member, count));
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
    return this.#put(machine.postResponse(this.#get(id, member), member, bytes, this.#clock(), this.#pick));
  }

  postFinal(id: string, member: string, bytes: Uint8Array): PsiSessionView {
    return this.#put(machine.postFinal(this.#get(id, member), member, bytes, this.#clock(), this.#pick));
  }

  postKey(id: string, member: string, bytes: Uint8Array): PsiSessionView {
    return this.#put(machine.postKey(this.#get(id, member), member, bytes, this.#clock()));
  }

  /** The messages and keys of a session whose both keys are in (state `counting`). */
  countInputs(id: string, member: string): machine.CountInputs {
    return machine.countInputs(this.#get(id, member));
  }

  /** Records the room's count (or the violation it found); drops the messages and keys. */
  completeCount(id: string, member: string, outcome: Parameters<typeof machine.completeCount>[1]): PsiSessionView {
    return this.#put(machine.completeCount(this.#get(id, member), outcome));
  }

  /** The rule a session runs under. */
  rule(id: string, member: string): PsiRule {
    return this.#get(id, member).rule;
  }

  readResult(id: string, member: string): machine.PsiCountRelease {
    return machine.readResult(this.#get(id, member), member, this.#clock());
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

  /** The live sessions of one collaboration that `member` is a party to, oldest first. */
  list(collaborationId: string, member: string): PsiSessionView[] {
    const now = this.#clock();
    return [...this.#sessions.values()]
      .filter((s) => s.collaborationId === collaborationId && (s.rule.server === member || s.rule.client === member))
      .map((s) => machine.atTime(s, now))
      .filter((s) => s.state !== 'expired')
      .sort((a, b) => a.openedAt - b.openedAt)
      .map(machine.viewOf);
  }

  /**
   * Ends a session now, for either party: its messages are dropped with it, and the other party's
   * next step finds no session. Returns the session as it was.
   */
  cancel(id: string, member: string): PsiSessionView {
    const session = this.#get(id, member);
    this.#sessions.delete(id);
    machine.zeroKeys(session);
    return machine.viewOf(machine.atTime(session, this.#clock()));
  }

  /** Drops expired sessions; returns how many were dropped. */
  sweep(): number {
    const now = this.#clock();
    let dropped = 0;
    for (const [id, session] of this.#sessions) {
      if (machine.atTime(session, now).state === 'expired') {
        this.#sessions.delete(id);
        machine.zeroKeys(session);
        dropped += 1;
      }
    }
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
