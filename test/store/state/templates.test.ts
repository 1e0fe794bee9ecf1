import { describe, expect, it } from 'vitest';
import {
  latestTemplate,
  recordTemplate,
  templateNames,
  type StoredTemplate,
} from '../../../src/store/state/templates.ts';
import { useTempStateDb } from '../../support/temp-state-db.ts';

const state = useTempStateDb();
const template = (
  name: string,
  hash: string,
  proposedAt: string,
  over: Partial<StoredTemplate> = {},
): StoredTemplate => ({
  collaboration: 'demo',
  name,
  hash,
  document: JSON.stringify({ name, sql: `SELECT '${hash}'` }),
  proposedBy: 'acme-analyst',
  proposedAt,
  ...over,
});

describe('templates', () => {
  it('round-trips a proposal', async () => {
    const t = template('reach', 'h1', '2025-01-01T00:00:00.000Z');
    expect(await state().write((tx) => recordTemplate(tx, t))).toBe(true);
    const read = await latestTemplate(state(), 'demo', 'reach');
    expect(read).toEqual({ ...t, proposedAt: expect.any(String) });
    expect(JSON.parse(read!.document)).toEqual({ name: 'reach', sql: "SELECT 'h1'" });
  });

  it('answers the newest proposal under a name, by proposal time', async () => {
    await state().write(async (tx) => {
      await recordTemplate(tx, template('reach', 'h2', '2025-01-02T00:00:00.001Z'));
      await recordTemplate(tx, template('reach', 'h1', '2025-01-02T00:00:00.000Z'));
      await recordTemplate(tx, template('reach', 'h0', '2024-12-31T00:00:00.000Z'));
    });
    expect((await latestTemplate(state(), 'demo', 'reach'))?.hash).toBe('h2');
    expect(await latestTemplate(state(), 'demo', 'lift')).toBeUndefined();
    expect(await latestTemplate(state(), 'other', 'reach')).toBeUndefined();
  });

  it('records a hash once per collaboration: the same content proposed again keeps its first proposal', async () => {
    await state().write((tx) => recordTemplate(tx, template('reach', 'h1', '2025-01-01T00:00:00.000Z')));
    expect(
      await state().write((tx) =>
        recordTemplate(tx, template('reach', 'h1', '2025-06-01T00:00:00.000Z', { proposedBy: 'room' })),
      ),
    ).toBe(false);
    expect((await latestTemplate(state(), 'demo', 'reach'))?.proposedBy).toBe('acme-analyst');
    expect(
      await state().write((tx) =>
        recordTemplate(tx, template('reach', 'h1', '2025-06-01T00:00:00.000Z', { collaboration: 'other' })),
      ),
    ).toBe(true);
  });

  it('lists each name once, in name order', async () => {
    await state().write(async (tx) => {
      await recordTemplate(tx, template('reach', 'h1', '2025-01-01T00:00:00.000Z'));
      await recordTemplate(tx, template('lift', 'h2', '2025-01-01T00:00:00.000Z'));
      await recordTemplate(tx, template('reach', 'h3', '2025-01-02T00:00:00.000Z'));
      await recordTemplate(tx, template('zzz', 'h4', '2025-01-01T00:00:00.000Z', { collaboration: 'other' }));
    });
    expect(await templateNames(state(), 'demo')).toEqual(['lift', 'reach']);
  });
});
