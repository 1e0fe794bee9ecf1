import type { StateReader, StateTx } from '../state-db.ts';

/** Where a charge lands: one analyst member's budget on one dataset in one budget period. */
export interface BudgetAccount {
  readonly collaboration: string;
  readonly analystMember: string;
  readonly dataset: string;
  /** the period's stable key (2026-11-29, week-of-2026-11-23, 2026-11, total) */
  readonly periodStart: string;
}

/** One query's cost charged to one account. */
export interface BudgetCharge extends BudgetAccount {
  /** the query's charge; its per-dataset rows share it */
  readonly chargeId: string;
  readonly epsilon: number;
  readonly delta: number;
  readonly chargedAt: string;
}

/** What an account has spent so far (0 and 0 when nothing). */
export async function spentOn(db: StateReader, account: BudgetAccount): Promise<{ epsilon: number; delta: number }> {
  const [row] = await db.all(
    'SELECT coalesce(sum(epsilon), 0) AS e, coalesce(sum(delta), 0) AS d FROM budget_charges WHERE collaboration ' +
      '= $1 AND analyst_member = $2 AND dataset = $3 AND period_start = $4',
    [account.collaboration, account.analystMember, account.dataset, account.periodStart],
  );
  return { epsilon: Number(row?.e ?? 0), delta: Number(row?.d ?? 0) };
}

/**
 * Records a charge on one dataset; a charge id is charged at most once per dataset (its row key is `chargeId:dataset`).
 */
export async function recordCharge(tx: StateTx, charge: BudgetCharge): Promise<void> {
  await tx.run(
    'INSERT INTO budget_charges (charge_id, collaboration, analyst_member, dataset, period_start, epsilon, ' +
      'delta, charged_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)',
    [
      `${charge.chargeId}:${charge.dataset}`,
      charge.collaboration,
      charge.analystMember,
      charge.dataset,
      charge.periodStart,
      charge.epsilon,
      charge.delta,
      charge.chargedAt,
    ],
  );
}

/** Removes a charge from every dataset it was recorded on. */
export async function deleteCharge(tx: StateTx, chargeId: string): Promise<void> {
  await tx.run('DELETE FROM budget_charges WHERE starts_with(charge_id, $1)', [`${chargeId}:`]);
}

/** What each analyst member has spent on one dataset in one period, most first. */
export async function spentByMember(
  db: StateReader,
  on: { readonly collaboration: string; readonly dataset: string; readonly periodStart: string },
): Promise<{ member: string; epsilon: number; delta: number }[]> {
  const rows = await db.all(
    'SELECT analyst_member AS m, sum(epsilon) AS e, sum(delta) AS d FROM budget_charges WHERE collaboration = $1 ' +
      'AND dataset = $2 AND period_start = $3 GROUP BY analyst_member ORDER BY e DESC, analyst_member',
    [on.collaboration, on.dataset, on.periodStart],
  );
  return rows.map((r) => ({ member: String(r.m), epsilon: Number(r.e ?? 0), delta: Number(r.d ?? 0) }));
}
