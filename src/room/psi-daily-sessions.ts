import { requireSessionLeft, utcDay, type PsiRule } from '../psi/psi-rules.ts';
import type { StateTx } from '../store/state-db.ts';

/**
 * Counts one more PSI session for the rule's member pair on the UTC day of `now`, inside the
 * caller's transaction (the one that audits psi.opened), and refuses past maxSessionsPerDay.
 * Durable, so a restart cannot hand a pair a fresh day of sessions to probe with; one small row
 * per collaboration, pair and day. Returns the day's count including this session.
 */
export async function countPsiSessionOpened(tx: StateTx, collaboration: string, rule: PsiRule, now: number): Promise<number> {
  const key = [collaboration, rule.server, rule.client, utcDay(now)];
  const [row] = await tx.all('SELECT opened FROM psi_sessions_opened WHERE collaboration = $1 AND server_member = $2 AND client_member = $3 AND day = $4', key);
  const opened = row === undefined ? 0 : Number(row.opened);
  requireSessionLeft(rule, opened, now);
  if (row === undefined) await tx.run('INSERT INTO psi_sessions_opened VALUES ($1, $2, $3, $4, 1)', key);
  else await tx.run('UPDATE psi_sessions_opened SET opened = opened + 1 WHERE collaboration = $1 AND server_member = $2 AND client_member = $3 AND day = $4', key);
  return opened + 1;
}
