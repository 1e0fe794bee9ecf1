import { diagnostic } from '../errors/diagnostic.ts';
import { refuseIf, refusalOf } from '../errors/refused-error.ts';
import { countOf } from './packed-elements.ts';
import { parseRequestMessage, parseResponseMessage, parseSetupMessage } from './psi-messages.ts';
import { checkElements, NATIVE_ELEMENT_BYTES } from './native-messages.ts';
import { checkSetSize, engineOf, MAX_SET_SIZE, maxSetSizeOf, NATIVE_MAX_SET_SIZE } from './psi-rules.ts';
import type { PsiCount, PsiEngine, PsiRule } from './psi-rules.ts';

/**
 * The room's view of one PSI session: a pure state machine over relayed bytes. It validates
 * messages with the pure codec (framing, protobuf structure, element shape, counts, the reveal
 * flag, ordering, distinctness) rather than psi.js, so the room never loads the WASM engine and
 * enforces set sizes from what the messages prove, not from what a member declares.
 */
export type PsiSessionState =
  | 'opened'
  | 'setup-posted'
  | 'request-posted'
  | 'response-posted'
  | 'done'
  | 'sealed'
  | 'counting'
  | 'released'
  | 'violated'
  | 'expired';

/**
 * The messages a member posts into a session. psi.js sessions: setup, request, response. Native
 * room-counted sessions add the client's `final` (the server's set under both keys) and each
 * party's `key`, revealed to the room only once both doubly-blinded sets are in (PROTOCOL.md).
 */
export type PsiMessageKind = 'setup' | 'request' | 'response' | 'final' | 'key';

/** A room-counted session's release: the noisy count and its 95% interval. */
export interface PsiCountRelease {
  readonly count: number;
  readonly interval: readonly [number, number];
  readonly confidence: number;
  readonly epsilon: number;
  readonly mechanism: 'discrete-laplace';
  /** The noise's scale 1/ε: P[Z = z] ∝ exp(−|z|/scale). */
  readonly scale: number;
}

/**
 * Positions of a message the room keeps to check its answer against once the keys are revealed,
 * and the elements at them. Chosen by the room when the answer arrives and never shown to a member,
 * so a member cannot know which of its answers are checked; the full message is then dropped.
 */
export interface SampledElements {
  readonly positions: Uint32Array;
  /** The message's elements at `positions`, packed. */
  readonly elements: Uint8Array;
}

/** The room's choice of positions to check in a message of `count` elements (injected: random in the room). */
export type PickPositions = (count: number) => Uint32Array;

/** Who failed the room's check of a room-counted session. */
export type PsiParty = 'server' | 'client';

export interface PsiSession {
  readonly id: string;
  readonly collaborationId: string;
  readonly rule: PsiRule;
  readonly state: PsiSessionState;
  readonly openedAt: number;
  readonly expiresAt: number;
  readonly serverSetSize?: number;
  readonly clientSetSize?: number;
  readonly engine: PsiEngine;
  readonly count: PsiCount;
  readonly setup?: Uint8Array;
  readonly request?: Uint8Array;
  readonly response?: Uint8Array;
  readonly final?: Uint8Array;
  /** Room-counted: the request's sampled elements, kept once the response answers it. */
  readonly requestSample?: SampledElements;
  /** Room-counted: the setup's sampled elements, kept once the final answers it. */
  readonly setupSample?: SampledElements;
  readonly serverKey?: Uint8Array;
  readonly clientKey?: Uint8Array;
  readonly result?: PsiCountRelease;
  readonly violators?: readonly PsiParty[];
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
  readonly engine: PsiEngine;
  /** Size-only sessions: who counts, the room (with noise) or the client (exactly). */
  readonly count: PsiCount;
  /** Room-counted sessions: which of the two final messages are in, and which keys. */
  readonly posted?: readonly ('response' | 'final' | 'server key' | 'client key')[];
  readonly violators?: readonly PsiParty[];
}

/**
 * The largest message an engine's session admits: psi.js ~35 bytes per element on the wire plus
 * framing; native exactly 32 bytes per element.
 */
export function maxMessageBytes(engine: PsiEngine = 'psi.js'): number {
  return engine === 'native' ? NATIVE_MAX_SET_SIZE * NATIVE_ELEMENT_BYTES : 1024 + MAX_SET_SIZE * 40;
}

/** A new session; `count` is who counts a size-only intersection (the caller checked the rule allows it). */
export function openPsiSession(
  id: string,
  collaborationId: string,
  rule: PsiRule,
  now: number,
  count: PsiCount = 'room',
): PsiSession {
  const expiresAt = now + rule.sessionTtlSeconds * 1000;
  const counted: PsiCount = rule.revealIntersection ? 'client' : count;
  const engine = engineOf(rule, counted);
  return { id, collaborationId, rule, engine, count: counted, state: 'opened', openedAt: now, expiresAt };
}

/** The session as of `now`: past its deadline it is expired and holds no message bytes. */
export function atTime(session: PsiSession, now: number): PsiSession {
  if (session.state === 'expired' || now < session.expiresAt) return session;
  return { ...withoutMessages(session), state: 'expired' };
}

function withoutMessages(session: PsiSession): PsiSession {
  // Pure: the stored keys are zeroed where a session leaves the room (completeCount, the
  // registry's cancel and sweep), never here, where a view of an expired session would reach them.
  const { setup: _s, request: _r, response: _a, final: _b, serverKey: _k, clientKey: _l, ...rest } = session;
  const { requestSample: _q, setupSample: _p, ...bare } = rest;
  return bare;
}

export function viewOf(session: PsiSession): PsiSessionView {
  const { id, collaborationId, state, expiresAt, serverSetSize, clientSetSize, rule, engine, count, violators } =
    session;
  const posted = (
    [
      ['response', session.response],
      ['final', session.final],
      ['server key', session.serverKey],
      ['client key', session.clientKey],
    ] as const
  )
    .filter(([, bytes]) => bytes !== undefined)
    .map(([name]) => name);
  return {
    id,
    collaborationId,
    state,
    expiresAt,
    server: rule.server,
    client: rule.client,
    revealIntersection: rule.revealIntersection,
    engine,
    count,
    ...(serverSetSize === undefined ? {} : { serverSetSize }),
    ...(clientSetSize === undefined ? {} : { clientSetSize }),
    ...(engine === 'native' ? { posted } : {}),
    ...(violators === undefined ? {} : { violators }),
  };
}

function requireRole(session: PsiSession, member: string, role: PsiParty, act: string): void {
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
/** The room-counted protocol's steps. */
const NATIVE_STEPS = 'psi steps (room-counted): setup, request, response and final, both keys, result';

const missing = (session: PsiSession, kind: PsiMessageKind) =>
  refusalOf(diagnostic('PSI_WRONG_STEP', `The PSI session holds no ${kind}.`, STEPS, { sessionId: session.id }));

function requireSize(bytes: Uint8Array, engine: PsiEngine): void {
  const limit = maxMessageBytes(engine);
  if (bytes.length > limit) {
    throw refusalOf(
      diagnostic('PSI_MESSAGE_TOO_LARGE', 'The PSI message is too large.', 'psi message size', {
        bytes: bytes.length,
        limit,
      }),
    );
  }
}

const sizeRule = (session: PsiSession) => ({
  minSetSize: session.rule.minSetSize,
  maxSetSize: maxSetSizeOf(session.engine),
});

/** Who posts each message, and the one state in which the session takes it. */
const POSTS: Readonly<
  Record<Exclude<PsiMessageKind, 'key'>, { readonly role: PsiParty; readonly state: PsiSessionState }>
> = {
  setup: { role: 'server', state: 'opened' },
  request: { role: 'client', state: 'setup-posted' },
  response: { role: 'server', state: 'request-posted' },
  final: { role: 'client', state: 'request-posted' },
};

const roleOf = (session: PsiSession, member: string): PsiParty =>
  session.rule.server === member ? 'server' : 'client';

/**
 * Refuses a message its sender may not post now (wrong member, expired, wrong step, a message this
 * engine does not have, one already posted) without its bytes, so the relay can refuse before
 * reading a body; returns the session as of `now`.
 */
export function admitPost(session: PsiSession, member: string, kind: PsiMessageKind, now: number): PsiSession {
  const native = session.engine === 'native';
  if (!native && (kind === 'final' || kind === 'key')) {
    const message = `A session whose size the room does not count has no ${kind} message.`;
    throw refusalOf(diagnostic('PSI_WRONG_STEP', message, STEPS, { sessionId: session.id }));
  }
  if (kind === 'key') {
    const role = roleOf(session, member);
    const current = requireLive(session, now, ['sealed'], 'accept a key');
    if ((role === 'server' ? current.serverKey : current.clientKey) !== undefined)
      throw refusalOf(
        diagnostic('PSI_WRONG_STEP', `The ${role} key is already posted.`, NATIVE_STEPS, { sessionId: session.id }),
      );
    return current;
  }
  const { role, state } = POSTS[kind];
  requireRole(session, member, role, `post the ${kind}`);
  const current = requireLive(session, now, [state], `accept a ${kind}`);
  if (native && current[kind] !== undefined)
    throw refusalOf(
      diagnostic('PSI_WRONG_STEP', `The ${kind} is already posted.`, NATIVE_STEPS, { sessionId: session.id }),
    );
  return current;
}

/** A room-counted session moves to `sealed` once both doubly-blinded sets are in. */
const sealedIfComplete = (session: PsiSession): PsiSession =>
  session.response !== undefined && session.final !== undefined ? { ...session, state: 'sealed' } : session;

/** The server member posts its setup: its set size is the element count. */
export function postSetup(session: PsiSession, member: string, bytes: Uint8Array, now: number): PsiSession {
  const current = admitPost(session, member, 'setup', now);
  requireSize(bytes, current.engine);
  const serverSetSize =
    current.engine === 'native' ? checkElements(bytes, { distinct: true }) : countOf(parseSetupMessage(bytes).elements);
  refuseIf(checkSetSize('server', serverSetSize, sizeRule(current)));
  return { ...current, state: 'setup-posted', setup: bytes, serverSetSize };
}

/** The client member posts its request: its set size is the (distinct) element count. */
export function postRequest(session: PsiSession, member: string, bytes: Uint8Array, now: number): PsiSession {
  const current = admitPost(session, member, 'request', now);
  requireSize(bytes, current.engine);
  if (current.engine === 'native') {
    const clientSetSize = checkElements(bytes, { distinct: true });
    refuseIf(checkSetSize('client', clientSetSize, sizeRule(current)));
    return { ...current, state: 'request-posted', request: bytes, clientSetSize };
  }
  const request = parseRequestMessage(bytes);
  if (request.revealIntersection !== current.rule.revealIntersection) {
    const message = 'The request asks for a different result than the rule allows.';
    const data = { requested: request.revealIntersection, allowed: current.rule.revealIntersection };
    throw refusalOf(diagnostic('PSI_REVEAL_MISMATCH', message, 'psi.revealIntersection', data));
  }
  refuseIf(checkSetSize('client', request.size, sizeRule(current)));
  return { ...current, state: 'request-posted', request: bytes, clientSetSize: request.size };
}

/** The elements of `packed` at the positions the room picks. */
function sampleOf(packed: Uint8Array, pick: PickPositions): SampledElements {
  const positions = pick(packed.length / NATIVE_ELEMENT_BYTES);
  const elements = new Uint8Array(positions.length * NATIVE_ELEMENT_BYTES);
  positions.forEach((p, k) =>
    elements.set(packed.subarray(p * NATIVE_ELEMENT_BYTES, (p + 1) * NATIVE_ELEMENT_BYTES), k * NATIVE_ELEMENT_BYTES),
  );
  return { positions, elements };
}

/**
 * The server member posts its response, which must answer the stored request element for element.
 * Room-counted sessions keep only the request's sampled elements from then on (`pick`).
 */
export function postResponse(
  session: PsiSession,
  member: string,
  bytes: Uint8Array,
  now: number,
  pick: PickPositions,
): PsiSession {
  const current = admitPost(session, member, 'response', now);
  requireSize(bytes, current.engine);
  if (current.request === undefined) throw missing(session, 'request');
  if (current.engine === 'native') {
    // Answers repeat where the client sent two encodings of one point: the room counts distinct values.
    checkElements(bytes, { distinct: false, count: current.clientSetSize ?? 0 });
    const { request, ...rest } = current;
    return sealedIfComplete({ ...rest, response: bytes, requestSample: sampleOf(request, pick) });
  }
  parseResponseMessage(bytes, parseRequestMessage(current.request));
  return { ...current, state: 'response-posted', response: bytes };
}

/**
 * Room-counted sessions: the client posts the server's setup under its own key, element for
 * element in the setup's order (the room checks sampled positions once the keys are in). Only the
 * setup's sampled elements (`pick`) are kept from then on.
 */
export function postFinal(
  session: PsiSession,
  member: string,
  bytes: Uint8Array,
  now: number,
  pick: PickPositions,
): PsiSession {
  const current = admitPost(session, member, 'final', now);
  requireSize(bytes, current.engine);
  checkElements(bytes, { distinct: false, count: current.serverSetSize ?? 0 });
  if (current.setup === undefined) throw missing(session, 'setup');
  const { setup, ...rest } = current;
  return sealedIfComplete({ ...rest, final: bytes, setupSample: sampleOf(setup, pick) });
}

/**
 * Room-counted sessions: a party reveals its session key to the room, which it may only do once
 * both doubly-blinded sets are committed. With both keys in, the session is `counting`.
 */
export function postKey(session: PsiSession, member: string, bytes: Uint8Array, now: number): PsiSession {
  const current = admitPost(session, member, 'key', now);
  if (bytes.length !== 32) {
    const data = { reason: 'a key is 32 bytes', bytes: bytes.length };
    throw refusalOf(diagnostic('PSI_MALFORMED_MESSAGE', 'The PSI message is malformed.', NATIVE_STEPS, data));
  }
  const key = Uint8Array.from(bytes);
  const next = roleOf(current, member) === 'server' ? { ...current, serverKey: key } : { ...current, clientKey: key };
  return next.serverKey !== undefined && next.clientKey !== undefined ? { ...next, state: 'counting' } : next;
}

/** What the room's count of a `counting` session reads: both answers, the samples they answer, both keys. */
export interface CountInputs {
  readonly setupSample: SampledElements;
  readonly requestSample: SampledElements;
  readonly response: Uint8Array;
  readonly final: Uint8Array;
  readonly serverKey: Uint8Array;
  readonly clientKey: Uint8Array;
}

/** The inputs of a `counting` session; the keys are copies, which the counter zeroes when it is done. */
export function countInputs(session: PsiSession): CountInputs {
  const { setupSample, requestSample, response, final, serverKey, clientKey } = session;
  if (session.state !== 'counting' || !setupSample || !requestSample || !response || !final || !serverKey || !clientKey)
    throw refusalOf(
      diagnostic('PSI_WRONG_STEP', 'The PSI session is not being counted.', NATIVE_STEPS, { sessionId: session.id }),
    );
  return { setupSample, requestSample, response, final, serverKey: serverKey.slice(), clientKey: clientKey.slice() };
}

/** Zeroes a session's stored keys: called when it leaves the room or its count is done. */
export function zeroKeys(session: PsiSession): void {
  session.serverKey?.fill(0);
  session.clientKey?.fill(0);
}

/**
 * Ends a `counting` session: released with its noisy count, or violated naming who failed the
 * room's check. Either way every message and both keys (zeroed) are dropped.
 */
export function completeCount(
  session: PsiSession,
  outcome: { readonly result: PsiCountRelease } | { readonly violators: readonly PsiParty[] },
): PsiSession {
  zeroKeys(session);
  const rest = withoutMessages(session);
  return 'result' in outcome
    ? { ...rest, state: 'released', result: outcome.result }
    : { ...rest, state: 'violated', violators: outcome.violators };
}

/** A member the rule releases to reads a room-counted session's result. */
export function readResult(session: PsiSession, member: string, now: number): PsiCountRelease {
  if (!session.rule.releaseTo.includes(member)) {
    const message = 'The PSI rule does not release the count to this member.';
    throw refusalOf(diagnostic('PSI_NOT_RELEASED_TO_MEMBER', message, 'psi.releaseTo', { sessionId: session.id }));
  }
  const current = requireLive(session, now, ['released'], 'hand out a result');
  if (current.result === undefined) throw missing(session, 'response');
  return current.result;
}

/** The client member reads the setup once it is posted. */
export function readSetup(session: PsiSession, member: string, now: number): Uint8Array {
  requireRole(session, member, 'client', 'read the setup');
  const current = requireLive(
    session,
    now,
    ['setup-posted', 'request-posted', 'response-posted', 'done', 'sealed'],
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
  if (session.engine === 'native') {
    const message = 'In a room-counted session the response goes to the room, not the client.';
    throw refusalOf(diagnostic('PSI_WRONG_STEP', message, NATIVE_STEPS, { sessionId: session.id }));
  }
  const current = requireLive(session, now, ['response-posted', 'done'], 'hand out the response');
  if (current.response === undefined) throw missing(session, 'response');
  const { request: _request, ...rest } = current;
  return { session: { ...rest, state: 'done' }, bytes: current.response };
}
