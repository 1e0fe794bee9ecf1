import { diagnostic } from '../errors/diagnostic.ts';
import { refuseIf, refusalOf } from '../errors/refused-error.ts';
import { countOf } from './packed-elements.ts';
import { parseRequestMessage, parseResponseMessage, parseSetupMessage } from './psi-messages.ts';
import { checkSetSize, MAX_SET_SIZE } from './psi-rules.ts';
import type { PsiRule } from './psi-rules.ts';

/**
 * The room's view of one PSI session: a pure state machine over relayed bytes. It validates
 * messages with the pure codec (framing, protobuf structure, element shape, counts, the reveal
 * flag, ordering, distinctness) rather than psi.js, so the room never loads the WASM engine and
 * enforces set sizes from what the messages prove, not from what a member declares.
 */
export type PsiSessionState = 'opened' | 'setup-posted' | 'request-posted' | 'response-posted' | 'done' | 'expired';

/** The three protocol messages a member posts into a session. */
export type PsiMessageKind = 'setup' | 'request' | 'response';

export interface PsiSession {
  readonly id: string;
  readonly collaborationId: string;
  readonly rule: PsiRule;
  readonly state: PsiSessionState;
  readonly openedAt: number;
  readonly expiresAt: number;
  readonly serverSetSize?: number;
  readonly clientSetSize?: number;
  readonly setup?: Uint8Array;
  readonly request?: Uint8Array;
  readonly response?: Uint8Array;
}

/** What either member (and the audit log) may see about a session: no message bytes. */
export interface PsiSessionView {
  readonly id: string;
  readonly collaborationId: string;
  readonly state: PsiSessionState;
  readonly server: string;
  readonly client: string;
  readonly revealIntersection: boolean;
  readonly expiresAt: number;
  readonly serverSetSize?: number;
  readonly clientSetSize?: number;
}

/** ~35 bytes per element on the wire plus framing, for the largest set the rule admits. */
export function maxMessageBytes(maxSetSize: number = MAX_SET_SIZE): number {
  return 1024 + maxSetSize * 40;
}

export function openPsiSession(id: string, collaborationId: string, rule: PsiRule, now: number): PsiSession {
  return { id, collaborationId, rule, state: 'opened', openedAt: now, expiresAt: now + rule.sessionTtlSeconds * 1000 };
}

/** The session as of `now`: past its deadline it is expired and holds no message bytes. */
export function atTime(session: PsiSession, now: number): PsiSession {
  if (session.state === 'expired' || now < session.expiresAt) return session;
  return { ...withoutMessages(session), state: 'expired' };
}

function withoutMessages(session: PsiSession): PsiSession {
  const { setup: _setup, request: _request, response: _response, ...rest } = session;
  return rest;
}

export function viewOf(session: PsiSession): PsiSessionView {
  const { id, collaborationId, state, expiresAt, serverSetSize, clientSetSize, rule } = session;
  return {
    id,
    collaborationId,
    state,
    expiresAt,
    server: rule.server,
    client: rule.client,
    revealIntersection: rule.revealIntersection,
    ...(serverSetSize === undefined ? {} : { serverSetSize }),
    ...(clientSetSize === undefined ? {} : { clientSetSize }),
  };
}

type Role = 'server' | 'client';

function requireRole(session: PsiSession, member: string, role: Role, act: string): void {
  if (session.rule[role] !== member) {
    throw refusalOf(
      diagnostic('PSI_WRONG_ROLE', `Only the PSI ${role} member may ${act}.`, `psi.${role}`, {
        sessionId: session.id,
        role,
      }),
    );
  }
}

function requireLive(session: PsiSession, now: number, expected: readonly PsiSessionState[], act: string): PsiSession {
  const current = atTime(session, now);
  if (current.state === 'expired') {
    const message = 'The PSI session has expired; open a new one.';
    throw refusalOf(diagnostic('PSI_SESSION_EXPIRED', message, 'psi.sessionTtlSeconds', { sessionId: session.id }));
  }
  if (!expected.includes(current.state)) {
    const message = `The PSI session cannot ${act} in state ${current.state}.`;
    throw refusalOf(diagnostic('PSI_WRONG_STEP', message, STEPS, { sessionId: session.id, state: current.state }));
  }
  return current;
}

/** The order of a session's steps, as the rule a wrong step breaks. */
const STEPS = 'psi steps: setup, request, response, read';

const missing = (session: PsiSession, kind: PsiMessageKind) =>
  refusalOf(diagnostic('PSI_WRONG_STEP', `The PSI session holds no ${kind}.`, STEPS, { sessionId: session.id }));

function requireSize(bytes: Uint8Array): void {
  const limit = maxMessageBytes();
  if (bytes.length > limit) {
    throw refusalOf(
      diagnostic('PSI_MESSAGE_TOO_LARGE', 'The PSI message is too large.', 'psi message size', {
        bytes: bytes.length,
        limit,
      }),
    );
  }
}

const sizeRule = (rule: PsiRule) => ({ minSetSize: rule.minSetSize });

/** Who posts each message, and the one state in which the session takes it. */
const POSTS: Readonly<Record<PsiMessageKind, { readonly role: Role; readonly state: PsiSessionState }>> = {
  setup: { role: 'server', state: 'opened' },
  request: { role: 'client', state: 'setup-posted' },
  response: { role: 'server', state: 'request-posted' },
};

/**
 * Refuses a message its sender may not post now (wrong member, expired, wrong step) without its
 * bytes, so the relay can refuse before reading a body; returns the session as of `now`.
 */
export function admitPost(session: PsiSession, member: string, kind: PsiMessageKind, now: number): PsiSession {
  const { role, state } = POSTS[kind];
  requireRole(session, member, role, `post the ${kind}`);
  return requireLive(session, now, [state], `accept a ${kind}`);
}

/** The server member posts its setup: its set size is the element count. */
export function postSetup(session: PsiSession, member: string, bytes: Uint8Array, now: number): PsiSession {
  const current = admitPost(session, member, 'setup', now);
  requireSize(bytes);
  const serverSetSize = countOf(parseSetupMessage(bytes).elements);
  refuseIf(checkSetSize('server', serverSetSize, sizeRule(current.rule)));
  return { ...current, state: 'setup-posted', setup: bytes, serverSetSize };
}

/** The client member posts its request: its set size is the (distinct) element count. */
export function postRequest(session: PsiSession, member: string, bytes: Uint8Array, now: number): PsiSession {
  const current = admitPost(session, member, 'request', now);
  requireSize(bytes);
  const request = parseRequestMessage(bytes);
  if (request.revealIntersection !== current.rule.revealIntersection) {
    const message = 'The request asks for a different result than the rule allows.';
    const data = { requested: request.revealIntersection, allowed: current.rule.revealIntersection };
    throw refusalOf(diagnostic('PSI_REVEAL_MISMATCH', message, 'psi.revealIntersection', data));
  }
  refuseIf(checkSetSize('client', request.size, sizeRule(current.rule)));
  return { ...current, state: 'request-posted', request: bytes, clientSetSize: request.size };
}

/** The server member posts its response, which must answer the stored request element for element. */
export function postResponse(session: PsiSession, member: string, bytes: Uint8Array, now: number): PsiSession {
  const current = admitPost(session, member, 'response', now);
  requireSize(bytes);
  if (current.request === undefined) throw missing(session, 'request');
  parseResponseMessage(bytes, parseRequestMessage(current.request));
  return { ...current, state: 'response-posted', response: bytes };
}

/** The client member reads the setup once it is posted. */
export function readSetup(session: PsiSession, member: string, now: number): Uint8Array {
  requireRole(session, member, 'client', 'read the setup');
  const current = requireLive(
    session,
    now,
    ['setup-posted', 'request-posted', 'response-posted', 'done'],
    'hand out the setup',
  );
  if (current.setup === undefined) throw missing(session, 'setup');
  return current.setup;
}

/** The server member reads the request once it is posted. */
export function readRequest(session: PsiSession, member: string, now: number): Uint8Array {
  requireRole(session, member, 'server', 'read the request');
  const current = requireLive(session, now, ['request-posted'], 'hand out the request');
  if (current.request === undefined) throw missing(session, 'request');
  return current.request;
}

/**
 * The client member reads the response; the session is then done. It keeps setup and response
 * until expiry so an interrupted download can be retried, and drops the request at once.
 */
export function readResponse(
  session: PsiSession,
  member: string,
  now: number,
): { session: PsiSession; bytes: Uint8Array } {
  requireRole(session, member, 'client', 'read the response');
  const current = requireLive(session, now, ['response-posted', 'done'], 'hand out the response');
  if (current.response === undefined) throw missing(session, 'response');
  const { request: _request, ...rest } = current;
  return { session: { ...rest, state: 'done' }, bytes: current.response };
}
