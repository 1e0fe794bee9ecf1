import { toBase64 } from '../crypto/bytes.ts';
import { sign } from '../crypto/signatures.ts';
import { GENESIS_HASH, auditEntryHash, auditSigningBytes, type AuditEntry } from './audit-entry.ts';

export interface AuditAct {
  readonly collaboration: string;
  readonly actor: string;
  readonly action: string;
  readonly details: Readonly<Record<string, unknown>>;
}

export type AuditSigner = (hash: string) => string;

/** Signs entry hashes with the room's Ed25519 secret key (base64 signatures). */
export const auditSigner =
  (secretKey: Uint8Array): AuditSigner =>
  (hash) =>
    toBase64(sign(auditSigningBytes(hash), secretKey));

/**
 * The entry that records `act` after `previous`, the newest entry of the act's collaboration
 * (undefined for its first). Each collaboration has its own chain, so its members can export and
 * verify it whole without seeing any other collaboration's activity. The caller stores the entry
 * in the same transaction as the act, so an act and its record commit together.
 */
export function nextAuditEntry(
  previous: { readonly seq: number; readonly hash: string } | undefined,
  act: AuditAct,
  sign: AuditSigner,
  now: Date,
): AuditEntry {
  const unsigned = {
    seq: (previous?.seq ?? 0) + 1,
    at: now.toISOString(),
    collaboration: act.collaboration,
    actor: act.actor,
    action: act.action,
    details: act.details,
    prevHash: previous?.hash ?? GENESIS_HASH,
  };
  const hash = auditEntryHash(unsigned);
  return { ...unsigned, hash, signature: sign(hash) };
}
