import { describe, expect, it } from 'vitest';
import {
  deleteCharge,
  recordCharge,
  spentOn,
  type BudgetAccount,
  type BudgetCharge,
} from '../../../src/store/state/budget-charges.ts';
import { useTempStateDb } from '../../support/temp-state-db.ts';

const state = useTempStateDb();
const account: BudgetAccount = {
  collaboration: 'demo',
  analystMember: 'acme',
  dataset: 'customers',
  periodStart: '2025-01-01',
};
const charge = (chargeId: string, over: Partial<BudgetCharge> = {}): BudgetCharge => ({
  ...account,
  chargeId,
  epsilon: 0.5,
  delta: 1e-6,
  chargedAt: '2025-01-01T12:00:00.000Z',
  ...over,
});

describe('budget charges', () => {
  it('spends nothing on an account without charges', async () => {
    expect(await spentOn(state(), account)).toEqual({ epsilon: 0, delta: 0 });
  });

  it('sums the charges of exactly one account', async () => {
    await state().write(async (tx) => {
      await recordCharge(tx, charge('a'));
      await recordCharge(tx, charge('b', { epsilon: 0.25, delta: 0 }));
      await recordCharge(tx, charge('a', { dataset: 'impressions' }));
      await recordCharge(tx, charge('c', { analystMember: 'northwind' }));
      await recordCharge(tx, charge('d', { periodStart: '2025-01-02' }));
      await recordCharge(tx, charge('e', { collaboration: 'other' }));
    });
    expect(await spentOn(state(), account)).toEqual({ epsilon: 0.75, delta: 1e-6 });
    expect(await spentOn(state(), { ...account, dataset: 'impressions' })).toEqual({ epsilon: 0.5, delta: 1e-6 });
  });

  it('charges a charge id at most once per dataset', async () => {
    await state().write((tx) => recordCharge(tx, charge('a')));
    await expect(state().write((tx) => recordCharge(tx, charge('a')))).rejects.toThrow(/constraint/i);
    expect((await spentOn(state(), account)).epsilon).toBe(0.5);
  });

  it('deletes a charge from every dataset it was recorded on, and no other charge', async () => {
    await state().write(async (tx) => {
      await recordCharge(tx, charge('a'));
      await recordCharge(tx, charge('a', { dataset: 'impressions' }));
      await recordCharge(tx, charge('ab', { epsilon: 0.125 }));
      await recordCharge(tx, charge('%', { epsilon: 0.0625 }));
    });
    await state().write((tx) => deleteCharge(tx, 'a'));
    expect(await spentOn(state(), account)).toEqual({ epsilon: 0.1875, delta: 2e-6 });
    expect(await spentOn(state(), { ...account, dataset: 'impressions' })).toEqual({ epsilon: 0, delta: 0 });
    await state().write((tx) => deleteCharge(tx, '%'));
    expect((await spentOn(state(), account)).epsilon).toBe(0.125);
  });
});
