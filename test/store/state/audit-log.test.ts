import { describe, expect, it } from 'vitest';
import { auditRows, insertAuditRow, lastAuditLink, type AuditLogRow } from '../../../src/store/state/audit-log.ts';
import { useTempStateDb } from '../../support/temp-state-db.ts';

const state = useTempStateDb();
const row = (collaboration: string, seq: number, over: Partial<AuditLogRow> = {}): AuditLogRow => ({
  seq,
  at: `2025-01-01T00:00:0${seq}.000Z`,
  collaboration,
  actor: 'acme-analyst',
  action: 'query.run',
  details: { seq, nested: { list: [1, 'two', null] } },
  prevHash: `hash-${seq - 1}`,
  hash: `hash-${seq}`,
  signature: `sig-${seq}`,
  ...over,
});

describe('audit log', () => {
  it('round-trips entries exactly, details as JSON', async () => {
    await state().write((tx) => insertAuditRow(tx, row('demo', 1)));
    expect(await auditRows(state(), 'demo')).toEqual([row('demo', 1)]);
  });

  it('links the next entry to the newest of its own collaboration', async () => {
    expect(await lastAuditLink(state(), 'demo')).toBeUndefined();
    await state().write(async (tx) => {
      for (const seq of [1, 2, 3]) await insertAuditRow(tx, row('demo', seq));
      await insertAuditRow(tx, row('other', 1, { hash: 'other-1' }));
      expect(await lastAuditLink(tx, 'demo')).toEqual({ seq: 3, hash: 'hash-3' });
    });
    expect(await lastAuditLink(state(), 'other')).toEqual({ seq: 1, hash: 'other-1' });
  });

  it('reads one chain in sequence order, from a sequence number on', async () => {
    await state().write(async (tx) => {
      for (const seq of [3, 1, 2]) await insertAuditRow(tx, row('demo', seq));
      await insertAuditRow(tx, row('other', 1));
    });
    expect((await auditRows(state(), 'demo')).map((e) => e.seq)).toEqual([1, 2, 3]);
    expect((await auditRows(state(), 'demo', 2)).map((e) => e.seq)).toEqual([2, 3]);
  });

  it('refuses a second entry at the same place in a chain', async () => {
    await state().write((tx) => insertAuditRow(tx, row('demo', 1)));
    await expect(state().write((tx) => insertAuditRow(tx, row('demo', 1, { hash: 'forked' })))).rejects.toThrow(
      /constraint/i,
    );
    expect((await auditRows(state(), 'demo')).map((e) => e.hash)).toEqual(['hash-1']);
  });
});
