import { diagnostic, type DiagnosticOf } from '../errors/diagnostic.ts';

/** An (epsilon, delta) amount: a limit, a running total, or the cost of one query. */
export interface PrivacyCost {
  readonly epsilon: number;
  readonly delta: number;
}

/** The outcome of a budget check: what would remain, or why it cannot pay. */
export type BudgetCheck =
  | { readonly ok: true; readonly remaining: PrivacyCost; readonly spentAfter: PrivacyCost }
  | { readonly ok: false; readonly diagnostic: DiagnosticOf<'DP_BUDGET_EXHAUSTED'> };

/** Which budget is checked: the dataset, its period and where the policy sets it. */
export interface BudgetScope {
  readonly dataset: string;
  readonly period: string;
  readonly periodStart: string;
  readonly rule: string;
}

// Budgets add up doubles (ten queries at 0.1 make 0.9999999999999999); a relative slack of 1e-12 of
// the limit lets exact splits through while never allowing a meaningful overspend.
const SLACK = 1e-12;

function fits(spent: number, cost: number, limit: number): boolean {
  return spent + cost <= limit * (1 + SLACK);
}

/**
 * Basic composition: a query may run iff spent + cost stays within the limit for both epsilon and
 * delta. Pure arithmetic; the ledger that stores `spent` must apply the result atomically.
 */
export function checkBudget(input: {
  limit: PrivacyCost;
  spent: PrivacyCost;
  cost: PrivacyCost;
  scope?: BudgetScope;
}): BudgetCheck {
  const { limit, spent, cost, scope } = input;
  const remaining = {
    epsilon: Math.max(0, limit.epsilon - spent.epsilon),
    delta: Math.max(0, limit.delta - spent.delta),
  };
  if (fits(spent.epsilon, cost.epsilon, limit.epsilon) && fits(spent.delta, cost.delta, limit.delta)) {
    return {
      ok: true,
      remaining: {
        epsilon: Math.max(0, remaining.epsilon - cost.epsilon),
        delta: Math.max(0, remaining.delta - cost.delta),
      },
      spentAfter: { epsilon: spent.epsilon + cost.epsilon, delta: spent.delta + cost.delta },
    };
  }
  const where = scope ? ` (dataset ${scope.dataset}, ${scope.period} budget)` : '';
  const data = {
    ...(scope ? { dataset: scope.dataset, period: scope.period, periodStart: scope.periodStart } : {}),
    remaining,
    requested: { epsilon: cost.epsilon, delta: cost.delta },
  };
  const message = `the privacy budget left is smaller than this query costs${where}`;
  return {
    ok: false,
    diagnostic: diagnostic(
      'DP_BUDGET_EXHAUSTED',
      message,
      scope?.rule ?? 'basic composition',
      data,
    ) as DiagnosticOf<'DP_BUDGET_EXHAUSTED'>,
  };
}
