import { ForbiddenError, NotFoundError } from '../errors/cleanroom-error.ts';
import type { Collaboration, Principal } from '../policy/collaboration.ts';
import { parsePsiRule, type PsiCount, type PsiRule } from '../psi/psi-rules.ts';
import type { PsiCountRelease } from '../psi/psi-session.ts';
import { chargePsiEpsilon } from './psi-epsilon-budget.ts';
import { canonicalJson, sha256Hex } from '../crypto/hashing.ts';
import type { PsiReservation } from '../psi/message-budget.ts';
import type { PsiMessageKind, PsiSessionView } from '../psi/psi-session.ts';
import { recordAudit } from './audit-trail.ts';
import { requireActive } from './policy-acceptance.ts';
import { countPsiSessionOpened } from './psi-daily-sessions.ts';
import { requireRole } from './require-role.ts';
import type { RoomServices } from './room-services.ts';

export type { PsiMessageKind };

/** A session as its member sees it, with the rule parameters both sides must use. */
export interface PsiSessionAnswer extends PsiSessionView {
  readonly role: 'server' | 'client';
  readonly normalisation: PsiRule['normalisation'];
  readonly minSetSize: number;
  readonly falsePositiveRate?: number;
  /** Room-counted sessions: ε per session and who may read the count. */
  readonly epsilon?: number;
  readonly releaseTo?: readonly string[];
}

/** A room-counted session's result as a member it is released to reads it. */
export interface PsiResultAnswer extends PsiCountRelease {
  readonly session: string;
  readonly serverSetSize: number;
  readonly clientSetSize: number;
  /** What the psi.released audit entry attests (psiResultDigest). */
  readonly resultSha256: string;
}

function ruleFor(collaboration: Collaboration, member: string, partner: string): PsiRule {
  const doc = collaboration.psiRules.find(
    (r) => (r.server === member && r.client === partner) || (r.client === member && r.server === partner),
  );
  if (!doc)
    throw new ForbiddenError('PSI_NOT_ALLOWED', `The policy has no PSI rule between ${member} and ${partner}.`, {
      rule: 'psi',
      member,
      partner,
    });
  return parsePsiRule({ ...doc });
}

function requireParty(principal: Principal): void {
  if (!principal.roles.has('provider') && !principal.roles.has('analyst'))
    requireRole(principal, 'analyst', 'take part in a PSI session');
}

const answer = (view: PsiSessionView, member: string, rule: PsiRule): PsiSessionAnswer => ({
  ...view,
  role: view.server === member ? 'server' : 'client',
  normalisation: rule.normalisation,
  minSetSize: rule.minSetSize,
  ...(rule.falsePositiveRate !== undefined ? { falsePositiveRate: rule.falsePositiveRate } : {}),
  ...(view.engine === 'native' ? { epsilon: rule.epsilon, releaseTo: rule.releaseTo } : {}),
});

/**
 * Opens a PSI session with a partner under the policy's rule. The pair's count for the UTC day
 * (maxSessionsPerDay) and the psi.opened entry commit in one transaction; only then does the
 * session, which lives in memory only, go live.
 */
export async function openPsi(
  services: RoomServices,
  collaboration: Collaboration,
  principal: Principal,
  partner: string,
  count: PsiCount = 'room',
): Promise<PsiSessionAnswer> {
  requireParty(principal);
  await requireActive(services, collaboration);
  const rule = ruleFor(collaboration, principal.memberId, partner);
  const session = services.psi.create(collaboration.id, rule, principal.memberId, count);
  await services.state.write(async (tx) => {
    await countPsiSessionOpened(tx, collaboration.id, rule, session.openedAt);
    const counted = session.engine === 'native';
    const epsilonSpent = counted ? await chargePsiEpsilon(tx, collaboration.id, rule) : undefined;
    await recordAudit(services, tx, {
      collaboration: collaboration.id,
      actor: principal.id,
      action: 'psi.opened',
      details: {
        session: session.id,
        server: rule.server,
        client: rule.client,
        revealIntersection: rule.revealIntersection,
        normalisation: rule.normalisation,
        engine: session.engine,
        count: session.count,
        ...(counted ? { epsilon: rule.epsilon, epsilonSpent, epsilonBudget: rule.epsilonBudget } : {}),
      },
    });
  });
  services.metrics.psiSessionOpened(collaboration.id);
  return answer(services.psi.add(session), principal.memberId, rule);
}

function sessionRule(collaboration: Collaboration, view: PsiSessionView): PsiRule {
  if (view.collaborationId !== collaboration.id)
    throw new NotFoundError('PSI_SESSION_NOT_FOUND', 'No such PSI session.');
  return ruleFor(collaboration, view.server, view.client);
}

export function psiSession(
  services: RoomServices,
  collaboration: Collaboration,
  principal: Principal,
  id: string,
): PsiSessionAnswer {
  requireParty(principal);
  const view = services.psi.view(id, principal.memberId);
  return answer(view, principal.memberId, sessionRule(collaboration, view));
}

/** The caller's member's live sessions in the collaboration (`psi sessions`). */
export function listPsiSessions(
  services: RoomServices,
  collaboration: Collaboration,
  principal: Principal,
): PsiSessionAnswer[] {
  requireParty(principal);
  return services.psi
    .list(collaboration.id, principal.memberId)
    .map((view) => answer(view, principal.memberId, sessionRule(collaboration, view)));
}

/**
 * Either party ends a session it no longer wants (`psi cancel`): its messages go with it and it is
 * audited. The day's count is not given back: the session was opened, and the limit counts opens.
 */
export async function cancelPsiSession(
  services: RoomServices,
  collaboration: Collaboration,
  principal: Principal,
  id: string,
): Promise<PsiSessionAnswer & { readonly cancelled: true; readonly auditSeq: number }> {
  requireParty(principal);
  const view = services.psi.view(id, principal.memberId);
  const rule = sessionRule(collaboration, view);
  services.psi.cancel(id, principal.memberId);
  const entry = await services.state.write((tx) =>
    recordAudit(services, tx, {
      collaboration: collaboration.id,
      actor: principal.id,
      action: 'psi.cancelled',
      details: { session: id, server: rule.server, client: rule.client, state: view.state },
    }),
  );
  return { ...answer(view, principal.memberId, rule), cancelled: true, auditSeq: entry.seq };
}

/**
 * Everything that can refuse a PSI message before a byte of its body is read: the caller's party
 * role, the session (unknown and foreign look alike), the sender and step, the declared size, one
 * message in flight per session, and the room's budget of message bytes being received at once.
 * The caller reads at most `limit` bytes and calls `release()` when done, whatever happened.
 */
export function admitPsiMessage(
  services: RoomServices,
  collaboration: Collaboration,
  principal: Principal,
  id: string,
  kind: PsiMessageKind,
  declaredBytes: number | undefined,
): PsiReservation {
  const session = psiSession(services, collaboration, principal, id);
  services.psi.admitPost(id, principal.memberId, kind);
  return services.psiUploads.reserve(id, declaredBytes, session.engine);
}

/** Relays one protocol message into the session; the relay validates framing, sizes and step. */
export async function postPsiMessage(
  services: RoomServices,
  collaboration: Collaboration,
  principal: Principal,
  id: string,
  kind: PsiMessageKind,
  bytes: Uint8Array,
): Promise<PsiSessionAnswer> {
  const current = psiSession(services, collaboration, principal, id);
  const member = principal.memberId;
  const post = {
    setup: () => services.psi.postSetup(id, member, bytes),
    request: () => services.psi.postRequest(id, member, bytes),
    response: () => services.psi.postResponse(id, member, bytes),
    final: () => services.psi.postFinal(id, member, bytes),
    key: () => services.psi.postKey(id, member, bytes),
  }[kind];
  let view = post();
  if (view.engine === 'psi.js' && kind === 'response') {
    await services.state.write((tx) =>
      recordAudit(services, tx, {
        collaboration: collaboration.id,
        actor: principal.id,
        action: 'psi.completed',
        details: {
          session: id,
          serverSetSize: view.serverSetSize ?? null,
          clientSetSize: view.clientSetSize ?? null,
          revealIntersection: view.revealIntersection,
        },
      }),
    );
  }
  if (view.state === 'counting') view = await countSession(services, collaboration, principal, id);
  return { ...current, ...view };
}

/**
 * The room counts a session whose both keys are in, and audits what it released (the noisy count,
 * never the exact one) or which member failed its check (psi.violation; nothing is released).
 */
async function countSession(
  services: RoomServices,
  collaboration: Collaboration,
  principal: Principal,
  id: string,
): Promise<PsiSessionView> {
  const member = principal.memberId;
  const rule = services.psi.rule(id, member);
  const outcome = await services.psiCounter.count(services.psi, id, member, services.randomSource);
  const sizes = {
    serverSetSize: outcome.view.serverSetSize ?? null,
    clientSetSize: outcome.view.clientSetSize ?? null,
  };
  await services.state.write((tx) =>
    recordAudit(services, tx, {
      collaboration: collaboration.id,
      actor: principal.id,
      ...('result' in outcome
        ? {
            action: 'psi.released',
            details: {
              session: id,
              server: rule.server,
              client: rule.client,
              ...sizes,
              // Every principal of the collaboration reads the audit log, and releaseTo may name
              // fewer members: the entry attests the release by its digest, never its count.
              resultSha256: psiResultDigest(id, outcome.result),
              epsilon: outcome.result.epsilon,
              confidence: outcome.result.confidence,
              mechanism: outcome.result.mechanism,
              releaseTo: [...rule.releaseTo],
            },
          }
        : {
            action: 'psi.violation',
            details: {
              session: id,
              ...sizes,
              violators: outcome.violators.map((party) => rule[party]),
            },
          }),
    }),
  );
  return outcome.view;
}

/**
 * The digest the psi.released entry attests: SHA-256 of the RFC 8785 JSON of the session id and
 * the release, so a recipient can show an officer the count it was given.
 */
export const psiResultDigest = (session: string, release: PsiCountRelease): string =>
  sha256Hex(canonicalJson({ session, ...release }));

/** A member the rule releases to reads a room-counted session's noisy count. */
export function readPsiResult(
  services: RoomServices,
  collaboration: Collaboration,
  principal: Principal,
  id: string,
): PsiResultAnswer {
  const view = psiSession(services, collaboration, principal, id);
  const release = services.psi.readResult(id, principal.memberId);
  return {
    session: id,
    serverSetSize: view.serverSetSize ?? 0,
    clientSetSize: view.clientSetSize ?? 0,
    ...release,
    resultSha256: psiResultDigest(id, release),
  };
}

/** Hands a member the message its protocol step needs. */
export function readPsiMessage(
  services: RoomServices,
  collaboration: Collaboration,
  principal: Principal,
  id: string,
  kind: 'setup' | 'request' | 'response',
): Uint8Array {
  psiSession(services, collaboration, principal, id);
  const member = principal.memberId;
  return kind === 'setup'
    ? services.psi.readSetup(id, member)
    : kind === 'request'
      ? services.psi.readRequest(id, member)
      : services.psi.readResponse(id, member);
}
