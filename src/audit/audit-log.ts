import type { StateTx } from '../store/state-db.ts';
import { GENESIS_HASH, auditEntryHash, type AuditEntry } from './audit-entry.ts';

export interface AuditAct {
  readonly collaboration: string;
  readonly actor: string;
  readonly action: string;
  readonly details: Readonly<Record<string, unknown>>;
}

export type AuditSigner = (hash: string) => string;

/**
 * Appends an entry inside the caller's transaction, so an act and its record commit together.
 * Each collaboration has its own chain, so its members can export and verify it whole without
 * seeing any other collaboration's activity.
 */
export async function appendAudit(tx: StateTx, act: AuditAct, sign: AuditSigner, now: Date): Promise<AuditEntry> {
  const [last] = await tx.all('SELECT seq, hash FROM audit_log WHERE collaboration = $1 ORDER BY seq DESC LIMIT 1', [act.collaboration]);
  const unsigned = {
    seq: Number(last?.seq ?? 0) + 1,
    at: now.toISOString(),
    collaboration: act.collaboration,
    actor: act.actor,
    action: act.action,
    details: act.details,
    prevHash: String(last?.hash ?? GENESIS_HASH),
  };
  const hash = auditEntryHash(unsigned);
  const entry: AuditEntry = { ...unsigned, hash, signature: sign(hash) };
  await tx.run(
    'INSERT INTO audit_log (seq, "at", collaboration, actor, action, details, prev_hash, hash, signature) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)',
    [entry.seq, entry.at, entry.collaboration, entry.actor, entry.action, JSON.stringify(entry.details), entry.prevHash, entry.hash, entry.signature],
  );
  return entry;
}

/** Reads one collaboration's chain, from a sequence number on. */
export async function readAudit(read: (sql: string, params?: readonly (string | number)[]) => Promise<Record<string, unknown>[]>, collaboration: string, fromSeq = 1): Promise<AuditEntry[]> {
  const rows = await read('SELECT * FROM audit_log WHERE collaboration = $1 AND seq >= $2 ORDER BY seq', [collaboration, fromSeq]);
  return rows.map((r) => ({
    seq: Number(r.seq), at: String(r.at), collaboration: String(r.collaboration),
    actor: String(r.actor), action: String(r.action), details: JSON.parse(String(r.details)) as Record<string, unknown>,
    prevHash: String(r.prev_hash), hash: String(r.hash), signature: String(r.signature),
  }));
}
