import type { Row, StateReader, StateTx } from '../state-db.ts';

/** An audit entry as stored (src/audit's `AuditEntry`: hashing, signing and checking are src/audit's). */
export interface AuditLogRow {
  readonly seq: number;
  readonly at: string;
  readonly collaboration: string;
  readonly actor: string;
  readonly action: string;
  readonly details: Readonly<Record<string, unknown>>;
  readonly prevHash: string;
  readonly hash: string;
  readonly signature: string;
}

/** The newest entry's sequence number and hash in one collaboration's chain: what the next entry links to. */
export async function lastAuditLink(
  db: StateReader,
  collaboration: string,
): Promise<{ seq: number; hash: string } | undefined> {
  const [last] = await db.all('SELECT seq, hash FROM audit_log WHERE collaboration = $1 ORDER BY seq DESC LIMIT 1', [
    collaboration,
  ]);
  return last ? { seq: Number(last.seq), hash: String(last.hash) } : undefined;
}

/**
 * Appends an entry inside the caller's transaction, so an act and its record commit together.
 * (collaboration, seq) is the key: a second writer of the same link fails the transaction.
 */
export async function insertAuditRow(tx: StateTx, entry: AuditLogRow): Promise<void> {
  await tx.run(
    'INSERT INTO audit_log (seq, "at", collaboration, actor, action, details, prev_hash, hash, signature) ' +
      'VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)',
    [
      entry.seq,
      entry.at,
      entry.collaboration,
      entry.actor,
      entry.action,
      JSON.stringify(entry.details),
      entry.prevHash,
      entry.hash,
      entry.signature,
    ],
  );
}

const toEntry = (r: Row): AuditLogRow => ({
  seq: Number(r.seq),
  at: String(r.at),
  collaboration: String(r.collaboration),
  actor: String(r.actor),
  action: String(r.action),
  details: JSON.parse(String(r.details)) as Record<string, unknown>,
  prevHash: String(r.prev_hash),
  hash: String(r.hash),
  signature: String(r.signature),
});

/** One collaboration's chain in sequence order, from a sequence number on. */
export async function auditRows(db: StateReader, collaboration: string, fromSeq = 1): Promise<AuditLogRow[]> {
  return (
    await db.all('SELECT * FROM audit_log WHERE collaboration = $1 AND seq >= $2 ORDER BY seq', [
      collaboration,
      fromSeq,
    ])
  ).map(toEntry);
}
