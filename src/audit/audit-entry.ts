import { canonicalJson, sha256Hex } from '../crypto/hashing.ts';

/** One link of the audit chain: who did what, when, in which collaboration, and on what data. */
export interface AuditEntry {
  readonly seq: number;
  readonly at: string;
  /** the chain this entry belongs to: a collaboration id, or "" for the room's own acts */
  readonly collaboration: string;
  /** principal id, or "room" for the room's own acts */
  readonly actor: string;
  readonly action: string;
  readonly details: Readonly<Record<string, unknown>>;
  readonly prevHash: string;
  readonly hash: string;
  /** base64 Ed25519 signature of the room over `hash` */
  readonly signature: string;
}

export const GENESIS_HASH = '0'.repeat(64);

/** The hash that links an entry to its predecessor; every field but the hash and signature. */
export const auditEntryHash = (entry: Omit<AuditEntry, 'hash' | 'signature'>): string =>
  sha256Hex(
    canonicalJson({
      seq: entry.seq,
      at: entry.at,
      collaboration: entry.collaboration,
      actor: entry.actor,
      action: entry.action,
      details: entry.details,
      prevHash: entry.prevHash,
    }),
  );

export const auditSigningBytes = (hash: string): Uint8Array => new TextEncoder().encode(`cleanroom-audit-v1:${hash}`);
