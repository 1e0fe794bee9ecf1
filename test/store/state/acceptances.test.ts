import { describe, expect, it } from 'vitest';
import { acceptancesOf, recordAcceptance, type Acceptance } from '../../../src/store/state/acceptances.ts';
import { useTempStateDb } from '../../support/temp-state-db.ts';

const state = useTempStateDb();
const at = '2025-01-02T03:04:05.000Z';
const acceptance = (member: string, over: Partial<Acceptance> = {}): Acceptance => ({
  collaboration: 'demo',
  policyHash: 'h1',
  member,
  principal: `${member}-officer`,
  signature: `sig-${member}`,
  acceptedAt: at,
  ...over,
});

describe('acceptances', () => {
  it('round-trips an acceptance; the time comes back as the instant written', async () => {
    expect(await state().write((tx) => recordAcceptance(tx, acceptance('acme')))).toBe(true);
    const [read] = await acceptancesOf(state(), 'demo', 'h1');
    expect(read).toEqual({ ...acceptance('acme'), acceptedAt: expect.any(String) });
    expect(new Date(read!.acceptedAt).toISOString()).toBe(at);
  });

  it('keeps the first signature of a member for a hash and says the second was not recorded', async () => {
    await state().write((tx) => recordAcceptance(tx, acceptance('acme')));
    expect(
      await state().write((tx) =>
        recordAcceptance(tx, acceptance('acme', { principal: 'acme-other', signature: 'later' })),
      ),
    ).toBe(false);
    expect((await acceptancesOf(state(), 'demo', 'h1')).map((a) => [a.principal, a.signature])).toEqual([
      ['acme-officer', 'sig-acme'],
    ]);
  });

  it('answers one hash of one collaboration, ordered by member', async () => {
    await state().write(async (tx) => {
      await recordAcceptance(tx, acceptance('northwind'));
      await recordAcceptance(tx, acceptance('acme'));
      await recordAcceptance(tx, acceptance('globex', { policyHash: 'h2' }));
      await recordAcceptance(tx, acceptance('initech', { collaboration: 'other' }));
    });
    expect((await acceptancesOf(state(), 'demo', 'h1')).map((a) => a.member)).toEqual(['acme', 'northwind']);
    expect((await acceptancesOf(state(), 'demo', 'h2')).map((a) => a.member)).toEqual(['globex']);
    expect(await acceptancesOf(state(), 'nobody', 'h1')).toEqual([]);
  });
});
