import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DataEngine } from '../../src/store/data-engine.ts';
import { startTestRoom, uploadDemoDataset, type TestRoom } from '../support/test-room.ts';

// A committed version's one-row-per-person check starts at the commit (upload and reload alike), so the
// first query, extract or model on it finds the answer instead of paying for it.
let t: TestRoom;
beforeAll(async () => {
  t = await startTestRoom();
  await t.acceptAll();
});
afterAll(() => t?.close());

const checksOf = (spy: { mock: { calls: unknown[][]; results: { value: unknown }[] } }) =>
  spy.mock.calls.map((call, i) => ({ call, answer: spy.mock.results[i]?.value }));

describe('the one-row-per-person check of a new version', () => {
  it('starts when an upload commits, before anything asks, and answers for the new version', async () => {
    const spy = vi.spyOn(t.internals.engine, 'columnIsUnique');
    await uploadDemoDataset(t, 'advertiser_customers');
    const checks = checksOf(spy);
    spy.mockRestore();
    expect(checks.map((c) => c.call)).toEqual([['demo', 'advertiser_customers', 'email_hash']]);
    // The answer is the version's: the fixture holds one row per email_hash.
    expect(await (checks[0]?.answer as Promise<boolean>)).toBe(true);
  });

  it('starts for every dataset a restart loads again', async () => {
    await uploadDemoDataset(t, 'publisher_impressions');
    const spy = vi.spyOn(DataEngine.prototype, 'columnIsUnique');
    await t.restart();
    const checks = checksOf(spy);
    spy.mockRestore();
    expect(checks.map((c) => c.call).sort()).toEqual([
      ['demo', 'advertiser_customers', 'email_hash'],
      ['demo', 'publisher_impressions', 'email_hash'],
    ]);
    // Impressions hold many rows per person; the restarted engine answers from the check it started.
    const answers = await Promise.all(checks.map((c) => c.answer as Promise<boolean>));
    expect(answers.sort()).toEqual([false, true]);
    expect(await t.internals.engine.columnIsUnique('demo', 'publisher_impressions', 'email_hash')).toBe(false);
  });
});
