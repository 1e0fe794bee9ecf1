import { diagnostic } from '../errors/diagnostic.ts';
import { refusalOf } from '../errors/refused-error.ts';
import type { PsiRule } from '../psi/psi-rules.ts';
import type { StateTx } from '../store/state-db.ts';
import { psiEpsilonSpent, spendPsiEpsilon } from '../store/state/psi-epsilon-spent.ts';

/** Tolerance for the float sum of many session ε, relative to the budget (an absolute one admits tiny ε for free). */
const RELATIVE_SLACK = 1e-9;

/**
 * Charges one room-counted session's ε to the member pair inside the caller's transaction (the one
 * that counts the session and audits psi.opened), refusing PSI_BUDGET_EXHAUSTED past the rule's
 * epsilonBudget. Charged at open, not at release: a session abandoned after its key reveal would
 * otherwise cost nothing, and durable, so a restart hands out no fresh budget. Returns ε spent.
 */
export async function chargePsiEpsilon(tx: StateTx, collaboration: string, rule: PsiRule): Promise<number> {
  const pair = { collaboration, serverMember: rule.server, clientMember: rule.client };
  const spent = await psiEpsilonSpent(tx, pair);
  if (spent + rule.epsilon > rule.epsilonBudget * (1 + RELATIVE_SLACK)) {
    const message =
      `This member pair has spent ε ${spent} of its PSI budget ε ${rule.epsilonBudget}; ` +
      `a session costs ε ${rule.epsilon}.`;
    throw refusalOf(
      diagnostic('PSI_BUDGET_EXHAUSTED', message, 'psi.epsilonBudget', {
        epsilon: rule.epsilon,
        spent,
        epsilonBudget: rule.epsilonBudget,
      }),
    );
  }
  await spendPsiEpsilon(tx, pair, rule.epsilon);
  return spent + rule.epsilon;
}
