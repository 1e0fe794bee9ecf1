import { describe, expect, it } from 'vitest';
import { ensureStorageKey, storageKeyOf } from '../../../src/store/state/storage-keys.ts';
import { useTempStateDb } from '../../support/temp-state-db.ts';

const state = useTempStateDb();

describe('storage keys', () => {
  it('stores the first key offered for a dataset and answers it ever after', async () => {
    expect(await storageKeyOf(state(), 'demo', 'customers')).toBeUndefined();
    expect(await state().write((tx) => ensureStorageKey(tx, 'demo', 'customers', 'first'))).toBe('first');
    expect(await state().write((tx) => ensureStorageKey(tx, 'demo', 'customers', 'second'))).toBe('first');
    expect(await storageKeyOf(state(), 'demo', 'customers')).toBe('first');
  });

  it('keeps one key per collaboration and dataset', async () => {
    await state().write(async (tx) => {
      await ensureStorageKey(tx, 'demo', 'customers', 'a');
      await ensureStorageKey(tx, 'demo', 'impressions', 'b');
      await ensureStorageKey(tx, 'other', 'customers', 'c');
    });
    expect([
      await storageKeyOf(state(), 'demo', 'customers'),
      await storageKeyOf(state(), 'demo', 'impressions'),
      await storageKeyOf(state(), 'other', 'customers'),
    ]).toEqual(['a', 'b', 'c']);
  });

  it('stores nothing when the transaction fails', async () => {
    await expect(
      state().write(async (tx) => {
        await ensureStorageKey(tx, 'demo', 'customers', 'lost');
        throw new Error('the act failed');
      }),
    ).rejects.toThrow('the act failed');
    expect(await storageKeyOf(state(), 'demo', 'customers')).toBeUndefined();
  });
});
