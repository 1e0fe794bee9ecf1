import { describe, expect, it } from 'vitest';
import { auditSigner, nextAuditEntry, type AuditAct } from '../../src/audit/audit-log.ts';
import { auditEntryHash, auditSigningBytes, type AuditEntry } from '../../src/audit/audit-entry.ts';
import { verifyAuditChain } from '../../src/audit/verify-audit-chain.ts';
import { toBase64 } from '../../src/crypto/bytes.ts';
import { generateSigningKeyPair } from '../../src/crypto/signing-keys.ts';
import { sign } from '../../src/crypto/signatures.ts';

const room = generateSigningKeyPair();
const signer = (hash: string) => toBase64(sign(auditSigningBytes(hash), room.secretKey));

/** Appends to an in-memory log as the room does: each entry links to its collaboration's newest one. */
function append(rows: AuditEntry[], act: AuditAct, now: Date): void {
  rows.push(nextAuditEntry(rows.filter((r) => r.collaboration === act.collaboration).at(-1), act, signer, now));
}

async function chain(n: number): Promise<AuditEntry[]> {
  const rows: AuditEntry[] = [];
  for (let i = 0; i < n; i++) {
    append(
      rows,
      { collaboration: 'demo', actor: `p${i}`, action: 'query.run', details: { i } },
      new Date(Date.UTC(2026, 0, 1, 0, i)),
    );
  }
  append(rows, { collaboration: 'other', actor: 'x', action: 'policy.accepted', details: {} }, new Date());
  return rows.filter((r) => r.collaboration === 'demo');
}

describe('audit chain', () => {
  it('verifies offline with only the room public key', async () => {
    const entries = await chain(5);
    expect(verifyAuditChain(entries, room.publicKey)).toEqual({ ok: true, entries: 5, head: entries[4]?.hash });
  });

  it('detects an altered entry, even with a recomputed hash', async () => {
    const entries = await chain(5);
    const altered = entries.map((e) => (e.seq === 3 ? { ...e, actor: 'someone-else' } : e));
    expect(verifyAuditChain(altered, room.publicKey)).toMatchObject({ ok: false, seq: 3 });
    const rehashed = altered.map((e) => (e.seq === 3 ? { ...e, hash: auditEntryHash(e) } : e));
    expect(verifyAuditChain(rehashed, room.publicKey)).toMatchObject({ ok: false, seq: 3 });
  });

  it('detects a removed, reordered or truncated-at-the-head chain', async () => {
    const entries = await chain(5);
    expect(
      verifyAuditChain(
        entries.filter((e) => e.seq !== 2),
        room.publicKey,
      ),
    ).toMatchObject({ ok: false, seq: 3 });
    expect(verifyAuditChain([entries[1]!, entries[0]!, ...entries.slice(2)], room.publicKey)).toMatchObject({
      ok: false,
    });
    expect(verifyAuditChain(entries.slice(1), room.publicKey)).toMatchObject({ ok: false, seq: 2 });
  });

  it('detects entries re-signed by another key', async () => {
    const entries = await chain(3);
    const impostor = generateSigningKeyPair();
    const forged = entries.map((e) => ({
      ...e,
      signature: toBase64(sign(auditSigningBytes(e.hash), impostor.secretKey)),
    }));
    expect(verifyAuditChain(forged, room.publicKey)).toMatchObject({ ok: false, seq: 1 });
    expect(verifyAuditChain(entries, impostor.publicKey)).toMatchObject({ ok: false, seq: 1 });
  });

  it('signs with the room key: auditSigner is the signer the room uses', async () => {
    const [first] = await chain(1);
    expect(auditSigner(room.secretKey)(first!.hash)).toBe(first!.signature);
  });

  it('keeps one chain per collaboration', async () => {
    const entries = await chain(2);
    expect(entries.map((e) => e.seq)).toEqual([1, 2]);
    const mixed = [...entries, { ...entries[1]!, collaboration: 'other', seq: 3 }];
    expect(verifyAuditChain(mixed, room.publicKey)).toMatchObject({ ok: false, seq: 3 });
  });
});
