import { fromBase64 } from '../crypto/bytes.ts';
import { verify } from '../crypto/signatures.ts';
import { GENESIS_HASH, auditEntryHash, auditSigningBytes, type AuditEntry } from './audit-entry.ts';

export type ChainVerdict =
  | { readonly ok: true; readonly entries: number; readonly head: string }
  | { readonly ok: false; readonly seq: number; readonly reason: string };

/**
 * Checks an exported chain offline with nothing but the room's public signing key: sequence
 * without gaps, each entry's hash, each link to its predecessor, each room signature.
 * The export must be a whole chain from its first entry: a dropped head is a detected gap.
 */
export function verifyAuditChain(entries: readonly AuditEntry[], roomPublicKey: Uint8Array): ChainVerdict {
  let prev = GENESIS_HASH;
  let expectedSeq = 1;
  const chain = entries[0]?.collaboration;
  for (const entry of entries) {
    if (entry.collaboration !== chain)
      return { ok: false, seq: entry.seq, reason: "the entry belongs to another collaboration's chain" };
    if (entry.seq !== expectedSeq)
      return {
        ok: false,
        seq: entry.seq,
        reason: `expected entry ${expectedSeq}: the chain has a gap or is out of order`,
      };
    if (entry.prevHash !== prev)
      return {
        ok: false,
        seq: entry.seq,
        reason: 'prevHash does not match the previous entry: an entry was removed, inserted or altered',
      };
    if (auditEntryHash(entry) !== entry.hash)
      return { ok: false, seq: entry.seq, reason: 'the entry does not match its hash: it was altered' };
    const signature = fromBase64(entry.signature, 64);
    if (!signature || !verify(auditSigningBytes(entry.hash), signature, roomPublicKey)) {
      return { ok: false, seq: entry.seq, reason: "the room's signature does not verify" };
    }
    prev = entry.hash;
    expectedSeq += 1;
  }
  return { ok: true, entries: entries.length, head: prev };
}
