import { fromBase64 } from '../crypto/bytes.ts';
import { verify } from '../crypto/signatures.ts';
import { ConflictError, UnprocessableError } from '../errors/cleanroom-error.ts';
import type { Collaboration, Principal } from '../policy/collaboration.ts';
import { acceptancesOf, latestAcceptance, recordAcceptance } from '../store/state/acceptances.ts';
import { recordAudit } from './audit-trail.ts';
import { requireRole } from './require-role.ts';
import type { RoomServices } from './room-services.ts';
import { diffPolicies, type PolicyChange } from '../policy/policy-diff.ts';
import type { CollaborationDocument } from '../policy/policy-document.ts';
import { policyVersion } from '../store/state/policy-versions.ts';

/** What an officer signs to accept a policy: its id and content hash. */
export const acceptanceSigningBytes = (collaborationId: string, policyHash: string): Uint8Array =>
  new TextEncoder().encode(`cleanroom-policy-acceptance-v1:${collaborationId}:${policyHash}`);

export interface CollaborationStatus {
  readonly id: string;
  readonly title: string;
  readonly policyHash: string;
  readonly active: boolean;
  readonly acceptedBy: readonly { member: string; principal: string; acceptedAt: string }[];
  readonly awaiting: readonly string[];
}

/** Active only when an officer of every member has signed the current content hash. */
export async function collaborationStatus(
  services: RoomServices,
  collaboration: Collaboration,
): Promise<CollaborationStatus> {
  const acceptances = await acceptancesOf(services.state, collaboration.id, collaboration.hash);
  const accepted = new Set(acceptances.map((a) => a.member));
  const awaiting = [...collaboration.members.keys()].filter((m) => !accepted.has(m));
  return {
    id: collaboration.id,
    title: collaboration.title,
    policyHash: collaboration.hash,
    active: awaiting.length === 0,
    acceptedBy: acceptances.map((a) => ({ member: a.member, principal: a.principal, acceptedAt: a.acceptedAt })),
    awaiting,
  };
}

export async function requireActive(services: RoomServices, collaboration: Collaboration): Promise<void> {
  const status = await collaborationStatus(services, collaboration);
  if (!status.active) {
    throw new ConflictError(
      'COLLABORATION_INACTIVE',
      `Collaboration "${collaboration.id}" is not active: officers of ${status.awaiting.join(', ')} have not ` +
        `accepted policy ${collaboration.hash}.`,
      {
        policyHash: collaboration.hash,
        awaiting: status.awaiting,
      },
    );
  }
}

/** Records an officer's signature over the policy hash (idempotent per member and hash). */
export async function acceptPolicy(
  services: RoomServices,
  collaboration: Collaboration,
  officer: Principal,
  policyHash: string,
  signatureText: string,
): Promise<CollaborationStatus> {
  requireRole(officer, 'officer', 'accept a collaboration policy');
  if (policyHash !== collaboration.hash) {
    throw new ConflictError(
      'POLICY_HASH_MISMATCH',
      'The signed hash is not the current policy: the policy file changed since you reviewed it. Review and ' +
        'sign the current hash.',
      {
        signedHash: policyHash,
        currentHash: collaboration.hash,
      },
    );
  }
  const signature = fromBase64(signatureText, 64);
  if (!signature || !verify(acceptanceSigningBytes(collaboration.id, policyHash), signature, officer.publicKey)) {
    throw new UnprocessableError(
      'ACCEPTANCE_BAD_SIGNATURE',
      "The acceptance signature does not verify with the officer's key over this collaboration and hash.",
    );
  }
  await services.state.write(async (tx) => {
    const recorded = await recordAcceptance(tx, {
      collaboration: collaboration.id,
      policyHash,
      member: officer.memberId,
      principal: officer.id,
      signature: signatureText,
      acceptedAt: new Date().toISOString(),
    });
    if (!recorded) return;
    await recordAudit(services, tx, {
      collaboration: collaboration.id,
      actor: officer.id,
      action: 'policy.accepted',
      details: { policyHash, member: officer.memberId, signature: signatureText },
    });
  });
  return collaborationStatus(services, collaboration);
}

/** What changed in a collaboration's policy since a member last accepted it: the officer's diff. */
export interface PolicyChangesSinceAcceptance {
  readonly member: string;
  readonly currentHash: string;
  /** the member's latest acceptance, of any version; null when it never accepted one */
  readonly accepted: { readonly policyHash: string; readonly acceptedAt: string; readonly principal: string } | null;
  /** empty when the accepted version is the current one; null when there is nothing to compare with */
  readonly changes: readonly PolicyChange[] | null;
}

export async function policyChangesSinceAcceptance(
  services: RoomServices,
  collaboration: Collaboration,
  member: string,
): Promise<PolicyChangesSinceAcceptance> {
  const accepted = (await latestAcceptance(services.state, collaboration.id, member)) ?? null;
  const base = { member, currentHash: collaboration.hash, accepted };
  if (!accepted) return { ...base, changes: null };
  if (accepted.policyHash === collaboration.hash) return { ...base, changes: [] };
  const before = await policyVersion(services.state, collaboration.id, accepted.policyHash);
  if (before === undefined) return { ...base, changes: null };
  return { ...base, changes: diffPolicies(JSON.parse(before) as CollaborationDocument, collaboration.document) };
}
