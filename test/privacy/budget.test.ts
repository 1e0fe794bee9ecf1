import { describe, expect, it } from 'vitest';
import { refusalOf } from '../../src/errors/refused-error.ts';
import { checkBudget } from '../../src/privacy/budget.ts';

describe('budget arithmetic (basic composition)', () => {
  const limit = { epsilon: 1, delta: 1e-6 };

  it('allows a query that fits and says what would remain', () => {
    const check = checkBudget({ limit, spent: { epsilon: 0.25, delta: 0 }, cost: { epsilon: 0.5, delta: 5e-7 } });
    expect(check).toEqual({
      ok: true,
      remaining: { epsilon: 0.25, delta: 5e-7 },
      spentAfter: { epsilon: 0.75, delta: 5e-7 },
    });
  });

  it('lets ten queries of 0.1 spend a budget of exactly 1 despite floating point', () => {
    let spent = { epsilon: 0, delta: 0 };
    for (let i = 0; i < 10; i += 1) {
      const check = checkBudget({ limit, spent, cost: { epsilon: 0.1, delta: 0 } });
      if (!check.ok) throw new Error(check.diagnostic.message);
      spent = check.spentAfter;
    }
    expect(checkBudget({ limit, spent, cost: { epsilon: 1e-6, delta: 0 } }).ok).toBe(false);
  });

  it('refuses an overspend of epsilon with DP_BUDGET_EXHAUSTED and the remaining budget', () => {
    const check = checkBudget({ limit, spent: { epsilon: 0.9, delta: 0 }, cost: { epsilon: 0.2, delta: 0 } });
    if (check.ok) throw new Error('expected a refusal');
    expect(check.diagnostic.code).toBe('DP_BUDGET_EXHAUSTED');
    expect(refusalOf(check.diagnostic).status).toBe(429);
    expect(check.diagnostic.data.remaining.epsilon).toBeCloseTo(0.1, 12);
    expect(check.diagnostic.data.requested).toEqual({ epsilon: 0.2, delta: 0 });
  });

  it('refuses an overspend of delta even when epsilon is left', () => {
    const check = checkBudget({ limit, spent: { epsilon: 0, delta: 9e-7 }, cost: { epsilon: 0.1, delta: 2e-7 } });
    expect(check.ok).toBe(false);
  });

  it('refuses any delta when the limit has none', () => {
    expect(
      checkBudget({
        limit: { epsilon: 1, delta: 0 },
        spent: { epsilon: 0, delta: 0 },
        cost: { epsilon: 0.1, delta: 1e-9 },
      }).ok,
    ).toBe(false);
  });
});
