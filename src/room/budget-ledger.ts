import { randomUUID } from 'node:crypto';
import { checkBudget, type PrivacyCost } from '../privacy/index.ts';
import { refusalOf } from '../errors/refused-error.ts';
import type { Collaboration } from '../policy/collaboration.ts';
import type { DpRules } from '../policy/policy-document.ts';
import { deleteCharge, recordCharge, spentByMember, spentOn } from '../store/state/budget-charges.ts';
import { recordAudit } from './audit-trail.ts';
import type { RoomServices } from './room-services.ts';

/** The budget period a moment falls in, as a stable key: 2026-11-29, 2026-W48, 2026-11, or total. */
export function periodStart(period: DpRules['budget']['period'], now: Date): string {
  const iso = now.toISOString();
  switch (period) {
    case 'day':
      return iso.slice(0, 10);
    case 'month':
      return iso.slice(0, 7);
    case 'week': {
      const monday = new Date(
        Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() - ((now.getUTCDay() + 6) % 7)),
      );
      return `week-of-${monday.toISOString().slice(0, 10)}`;
    }
    default:
      return 'total';
  }
}

export interface DatasetBudget {
  readonly dataset: string;
  readonly period: string;
  readonly periodStart: string;
  readonly limit: PrivacyCost;
  readonly spent: PrivacyCost;
  readonly remaining: PrivacyCost;
}

function limitOf(rules: DpRules): PrivacyCost {
  return { epsilon: rules.budget.epsilon, delta: rules.budget.delta ?? 0 };
}

/** What an analyst member has left on each DP dataset of a collaboration in the current period. */
export async function budgetReport(
  services: RoomServices,
  collaboration: Collaboration,
  member: string,
  now = new Date(),
): Promise<DatasetBudget[]> {
  const out: DatasetBudget[] = [];
  for (const dataset of collaboration.datasets.values()) {
    const dp = dataset.rules.dp;
    if (!dp) continue;
    const start = periodStart(dp.budget.period, now);
    const spent = await spentOn(services.state, {
      collaboration: collaboration.id,
      analystMember: member,
      dataset: dataset.name,
      periodStart: start,
    });
    const limit = limitOf(dp);
    out.push({
      dataset: dataset.name,
      period: dp.budget.period,
      periodStart: start,
      limit,
      spent,
      remaining: { epsilon: Math.max(0, limit.epsilon - spent.epsilon), delta: Math.max(0, limit.delta - spent.delta) },
    });
  }
  return out;
}

/** What every member spent of one owner's DP datasets in the current period: the owner's view of its budgets. */
export interface OwnedDatasetSpending {
  readonly dataset: string;
  readonly period: string;
  readonly periodStart: string;
  /** the budget each analyst member has on this dataset per period */
  readonly limit: PrivacyCost;
  readonly byMember: readonly { readonly member: string; readonly spent: PrivacyCost }[];
}

export async function spendingOnOwnedDatasets(
  services: RoomServices,
  collaboration: Collaboration,
  owner: string,
  now = new Date(),
): Promise<OwnedDatasetSpending[]> {
  const out: OwnedDatasetSpending[] = [];
  for (const dataset of collaboration.datasets.values()) {
    const dp = dataset.rules.dp;
    if (!dp || dataset.owner !== owner) continue;
    const start = periodStart(dp.budget.period, now);
    const spent = await spentByMember(services.state, {
      collaboration: collaboration.id,
      dataset: dataset.name,
      periodStart: start,
    });
    out.push({
      dataset: dataset.name,
      period: dp.budget.period,
      periodStart: start,
      limit: limitOf(dp),
      byMember: spent.map((s) => ({ member: s.member, spent: { epsilon: s.epsilon, delta: s.delta } })),
    });
  }
  return out;
}

/**
 * Charges a query's cost to every dataset it reads, for the analyst's member, in one serialised
 * transaction with its audit entry: either every budget can pay and all are charged, or none is.
 * The charge is durable before the query runs, so a crash can never refund or double-charge.
 */
export async function chargeBudgets(
  services: RoomServices,
  collaboration: Collaboration,
  member: string,
  actor: string,
  datasets: readonly string[],
  cost: PrivacyCost,
  now = new Date(),
): Promise<{ chargeId: string; remaining: Record<string, PrivacyCost> }> {
  const chargeId = randomUUID();
  const charged = await services.state.write(async (tx) => {
    const remaining: Record<string, PrivacyCost> = {};
    for (const name of datasets) {
      const dp = collaboration.datasets.get(name)?.rules.dp as DpRules;
      const account = {
        collaboration: collaboration.id,
        analystMember: member,
        dataset: name,
        periodStart: periodStart(dp.budget.period, now),
      };
      const spent = await spentOn(tx, account);
      const scope = {
        dataset: name,
        period: dp.budget.period,
        periodStart: account.periodStart,
        rule: `datasets.${name}.rules.dp.budget`,
      };
      const verdict = checkBudget({ limit: limitOf(dp), spent, cost, scope });
      if (!verdict.ok) throw refusalOf(verdict.diagnostic);
      const limit = limitOf(dp);
      remaining[name] = {
        epsilon: Math.max(0, limit.epsilon - verdict.spentAfter.epsilon),
        delta: Math.max(0, limit.delta - verdict.spentAfter.delta),
      };
      await recordCharge(tx, {
        ...account,
        chargeId,
        epsilon: cost.epsilon,
        delta: cost.delta,
        chargedAt: now.toISOString(),
      });
    }
    await recordAudit(services, tx, {
      collaboration: collaboration.id,
      actor,
      action: 'budget.charged',
      details: { chargeId, member, datasets, epsilon: cost.epsilon, delta: cost.delta },
    });
    return { chargeId, remaining };
  });
  for (const dataset of datasets) services.metrics.epsilonSpent(collaboration.id, dataset, cost.epsilon);
  return charged;
}

/** Gives a charge back when its query failed before releasing anything; audited in the same transaction. */
export async function refundBudgets(
  services: RoomServices,
  collaborationId: string,
  actor: string,
  chargeId: string,
  reason: string,
): Promise<void> {
  await services.state.write(async (tx) => {
    await deleteCharge(tx, chargeId);
    await recordAudit(services, tx, {
      collaboration: collaborationId,
      actor,
      action: 'budget.refunded',
      details: { chargeId, reason },
    });
  });
}
