import { describe, expect, it } from 'vitest';
import { PsiMessageBudget } from '../../src/psi/message-budget.ts';
import { maxMessageBytes } from '../../src/psi/psi-session.ts';
import { expectRefusal } from './helpers.ts';

describe('PSI message budget', () => {
  it('reserves declared bytes up to its capacity, one message per session, and takes them back once', async () => {
    const budget = new PsiMessageBudget(1000);
    const a = budget.reserve('a', 600);
    expect(a.limit).toBe(600);
    await expectRefusal(() => budget.reserve('a', 1), 'PSI_UPLOAD_IN_FLIGHT', 429);
    const busy = await expectRefusal(() => budget.reserve('b', 401), 'PSI_RELAY_BUSY', 503);
    expect(busy.details['retryAfterSeconds']).toBeGreaterThan(0);
    const b = budget.reserve('b', 400);
    expect(budget.reservedBytes).toBe(1000);
    a.release();
    a.release();
    expect(budget.reservedBytes).toBe(400);
    budget.reserve('a', 600).release();
    b.release();
    expect(budget.reservedBytes).toBe(0);
  });

  it('refuses a declaration past the largest message, and reserves the largest for an undeclared length', async () => {
    const small = new PsiMessageBudget(1000);
    expect(small.messageLimit).toBe(1000);
    await expectRefusal(() => small.reserve('a', 1001), 'PSI_MESSAGE_TOO_LARGE', 413);
    expect(small.reserve('a', undefined).limit).toBe(1000);
    await expectRefusal(() => small.reserve('b', undefined), 'PSI_RELAY_BUSY', 503);

    const large = new PsiMessageBudget(10 * maxMessageBytes('native'));
    expect(large.messageLimit).toBe(maxMessageBytes('native'));
    await expectRefusal(() => large.reserve('a', maxMessageBytes() + 1), 'PSI_MESSAGE_TOO_LARGE', 413);
    expect(large.reserve('a', maxMessageBytes() + 1, 'native').limit).toBe(maxMessageBytes() + 1);
  });

  it('admits a native message of 16M elements (512 MB) and a psi.js one of 2M, refusing one byte more', async () => {
    const budget = new PsiMessageBudget(2 ** 30);
    expect(maxMessageBytes('native')).toBe(16_000_000 * 32);
    await expectRefusal(() => budget.reserve('a', 16_000_000 * 32 + 1, 'native'), 'PSI_MESSAGE_TOO_LARGE', 413);
    await expectRefusal(
      () => budget.reserve('a', maxMessageBytes('psi.js') + 1, 'psi.js'),
      'PSI_MESSAGE_TOO_LARGE',
      413,
    );
    expect(budget.reserve('a', 16_000_000 * 32, 'native').limit).toBe(512_000_000);
  });
});
