import { describe, expect, it } from 'vitest';
import { countSessionOpened, sessionsOpened, type PsiPairDay } from '../../../src/store/state/psi-sessions-opened.ts';
import { useTempStateDb } from '../../support/temp-state-db.ts';

const state = useTempStateDb();
const today: PsiPairDay = { collaboration: 'demo', serverMember: 'northwind', clientMember: 'acme', day: '2025-01-01' };

describe('PSI sessions opened', () => {
  it('counts opens per collaboration, server, client and day', async () => {
    expect(await sessionsOpened(state(), today)).toBe(0);
    await state().write((tx) => countSessionOpened(tx, today));
    await state().write(async (tx) => {
      await countSessionOpened(tx, today);
      await countSessionOpened(tx, { ...today, day: '2025-01-02' });
      await countSessionOpened(tx, { ...today, serverMember: 'acme', clientMember: 'northwind' });
      await countSessionOpened(tx, { ...today, collaboration: 'other' });
    });
    expect(await sessionsOpened(state(), today)).toBe(2);
    expect(await sessionsOpened(state(), { ...today, day: '2025-01-02' })).toBe(1);
    expect(await sessionsOpened(state(), { ...today, serverMember: 'acme', clientMember: 'northwind' })).toBe(1);
    expect(await sessionsOpened(state(), { ...today, collaboration: 'other' })).toBe(1);
    expect(await state().all('SELECT count(*) AS n FROM psi_sessions_opened')).toEqual([{ n: 4 }]);
  });

  it('counts nothing when the transaction fails', async () => {
    await expect(
      state().write(async (tx) => {
        await countSessionOpened(tx, today);
        throw new Error('refused');
      }),
    ).rejects.toThrow('refused');
    expect(await sessionsOpened(state(), today)).toBe(0);
  });
});
