import type { AuditEntry } from '../audit/audit-entry.ts';
import { auditSigner, nextAuditEntry, type AuditAct } from '../audit/audit-log.ts';
import type { Collaboration } from '../policy/collaboration.ts';
import type { StateTx } from '../store/state-db.ts';
import { auditRows, insertAuditRow, lastAuditLink } from '../store/state/audit-log.ts';
import type { RoomServices } from './room-services.ts';

/**
 * Appends the entry that records `act` to its collaboration's chain, signed by the room, inside the act's own
 * transaction.
 */
export async function recordAudit(services: RoomServices, tx: StateTx, act: AuditAct): Promise<AuditEntry> {
  const now = new Date();
  const entry = nextAuditEntry(
    await lastAuditLink(tx, act.collaboration),
    act,
    auditSigner(services.keys.signing.secretKey),
    now,
  );
  await insertAuditRow(tx, entry);
  return entry;
}

/** A collaboration's whole chain, as its members export it to verify offline. */
export function auditTrail(services: RoomServices, collaboration: Collaboration): Promise<AuditEntry[]> {
  return auditRows(services.state, collaboration.id);
}
