import type { StateReader, StateTx } from '../state-db.ts';

/** An officer's signature over a policy's content hash, for their member. */
export interface Acceptance {
  readonly collaboration: string;
  readonly policyHash: string;
  readonly member: string;
  readonly principal: string;
  readonly signature: string;
  /** ISO 8601 UTC, written and read back (state-db returns timestamps as ISO text) */
  readonly acceptedAt: string;
}

/** The acceptances of one policy hash, one per member, ordered by member. */
export async function acceptancesOf(db: StateReader, collaboration: string, policyHash: string): Promise<Acceptance[]> {
  const rows = await db.all('SELECT * FROM acceptances WHERE collaboration = $1 AND policy_hash = $2 ORDER BY member', [
    collaboration,
    policyHash,
  ]);
  return rows.map((r) => ({
    collaboration: String(r.collaboration),
    policyHash: String(r.policy_hash),
    member: String(r.member),
    principal: String(r.principal),
    signature: String(r.signature),
    acceptedAt: String(r.accepted_at),
  }));
}

/**
 * Records an acceptance unless the member already accepted this hash (the first signature stands).
 * Answers whether it was recorded, so the caller audits only a new one.
 */
export async function recordAcceptance(tx: StateTx, acceptance: Acceptance): Promise<boolean> {
  const { collaboration, policyHash, member } = acceptance;
  const existing = await tx.all(
    'SELECT 1 FROM acceptances WHERE collaboration = $1 AND policy_hash = $2 AND member = $3',
    [collaboration, policyHash, member],
  );
  if (existing.length > 0) return false;
  await tx.run(
    'INSERT INTO acceptances (collaboration, policy_hash, member, principal, signature, accepted_at) VALUES ' +
      '($1, $2, $3, $4, $5, $6)',
    [collaboration, policyHash, member, acceptance.principal, acceptance.signature, acceptance.acceptedAt],
  );
  return true;
}

/** The policy hash a member accepted last (any version), with when. */
export async function latestAcceptance(
  db: StateReader,
  collaboration: string,
  member: string,
): Promise<{ policyHash: string; acceptedAt: string; principal: string } | undefined> {
  const [row] = await db.all(
    'SELECT policy_hash, accepted_at, principal FROM acceptances WHERE collaboration = $1 AND member = $2 ' +
      'ORDER BY accepted_at DESC LIMIT 1',
    [collaboration, member],
  );
  return row
    ? { policyHash: String(row.policy_hash), acceptedAt: String(row.accepted_at), principal: String(row.principal) }
    : undefined;
}
