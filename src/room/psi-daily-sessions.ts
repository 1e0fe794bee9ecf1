import { requireSessionLeft, utcDay, type PsiRule } from '../psi/psi-rules.ts';
import type { StateTx } from '../store/state-db.ts';
import { countSessionOpened, sessionsOpened } from '../store/state/psi-sessions-opened.ts';

/**
 * Counts one more PSI session for the rule's member pair on the UTC day of `now`, inside the
 * caller's transaction (the one that audits psi.opened), and refuses past maxSessionsPerDay.
 * Durable, so a restart cannot hand a pair a fresh day of sessions to probe with. Returns the
 * day's count including this session.
 */
export async function countPsiSessionOpened(
  tx: StateTx,
  collaboration: string,
  rule: PsiRule,
  now: number,
): Promise<number> {
  const pairDay = { collaboration, serverMember: rule.server, clientMember: rule.client, day: utcDay(now) };
  const opened = await sessionsOpened(tx, pairDay);
  requireSessionLeft(rule, opened, now);
  await countSessionOpened(tx, pairDay);
  return opened + 1;
}
