import { describe, expect, it } from 'vitest';
import { appendAudit } from '../../src/audit/audit-log.ts';
import { auditEntryHash, auditSigningBytes, type AuditEntry } from '../../src/audit/audit-entry.ts';
import { verifyAuditChain } from '../../src/audit/verify-audit-chain.ts';
import { toBase64 } from '../../src/crypto/bytes.ts';
import { generateSigningKeyPair } from '../../src/crypto/signing-keys.ts';
import { sign } from '../../src/crypto/signatures.ts';
import type { StateTx } from '../../src/store/state-db.ts';

const room = generateSigningKeyPair();
const signer = (hash: string) => toBase64(sign(auditSigningBytes(hash), room.secretKey));

/** A StateTx over an array, enough for appendAudit's two statements. */
function memoryTx(rows: AuditEntry[]): StateTx {
  return {
    all: async (_sql, params) => rows.filter((r) => r.collaboration === params?.[0]).slice(-1).map((r) => ({ seq: r.seq, hash: r.hash })),
    run: async (_sql, params) => {
      const [seq, at, collaboration, actor, action, details, prevHash, hash, signature] = params as [number, string, string, string, string, string, string, string, string];
      rows.push({ seq, at, collaboration, actor, action, details: JSON.parse(details) as Record<string, unknown>, prevHash, hash, signature });
    },
  };
}

async function chain(n: number): Promise<AuditEntry[]> {
  const rows: AuditEntry[] = [];
  const tx = memoryTx(rows);
  for (let i = 0; i < n; i++) {
    await appendAudit(tx, { collaboration: 'demo', actor: `p${i}`, action: 'query.run', details: { i } }, signer, new Date(Date.UTC(2026, 0, 1, 0, i)));
  }
  await appendAudit(tx, { collaboration: 'other', actor: 'x', action: 'policy.accepted', details: {} }, signer, new Date());
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
    expect(verifyAuditChain(entries.filter((e) => e.seq !== 2), room.publicKey)).toMatchObject({ ok: false, seq: 3 });
    expect(verifyAuditChain([entries[1]!, entries[0]!, ...entries.slice(2)], room.publicKey)).toMatchObject({ ok: false });
    expect(verifyAuditChain(entries.slice(1), room.publicKey)).toMatchObject({ ok: false, seq: 2 });
  });

  it('detects entries re-signed by another key', async () => {
    const entries = await chain(3);
    const impostor = generateSigningKeyPair();
    const forged = entries.map((e) => ({ ...e, signature: toBase64(sign(auditSigningBytes(e.hash), impostor.secretKey)) }));
    expect(verifyAuditChain(forged, room.publicKey)).toMatchObject({ ok: false, seq: 1 });
    expect(verifyAuditChain(entries, impostor.publicKey)).toMatchObject({ ok: false, seq: 1 });
  });

  it('keeps one chain per collaboration', async () => {
    const entries = await chain(2);
    expect(entries.map((e) => e.seq)).toEqual([1, 2]);
    const mixed = [...entries, { ...entries[1]!, collaboration: 'other', seq: 3 }];
    expect(verifyAuditChain(mixed, room.publicKey)).toMatchObject({ ok: false, seq: 3 });
  });
});
