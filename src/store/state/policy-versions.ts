import type { StateReader, StateTx } from '../state-db.ts';

/** Keeps a policy document the room serves under its content hash (the first copy stands). */
export async function recordPolicyVersion(
  tx: StateTx,
  version: { collaboration: string; policyHash: string; document: string; servedAt: string },
): Promise<void> {
  await tx.run(
    'INSERT INTO policy_versions (collaboration, policy_hash, document, first_served_at) VALUES ($1, $2, $3, $4) ' +
      'ON CONFLICT DO NOTHING',
    [version.collaboration, version.policyHash, version.document, version.servedAt],
  );
}

/** The document the room served under `policyHash`, if it ever did. */
export async function policyVersion(
  db: StateReader,
  collaboration: string,
  policyHash: string,
): Promise<string | undefined> {
  const [row] = await db.all('SELECT document FROM policy_versions WHERE collaboration = $1 AND policy_hash = $2', [
    collaboration,
    policyHash,
  ]);
  return row ? String(row.document) : undefined;
}
