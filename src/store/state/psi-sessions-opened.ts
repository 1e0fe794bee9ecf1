import type { StateReader, StateTx } from '../state-db.ts';
import type { PsiPair } from './psi-epsilon-spent.ts';

/** One member pair's PSI sessions on one UTC day, in one collaboration. */
export interface PsiPairDay extends PsiPair {
  /** the UTC day, 2025-01-01 */
  readonly day: string;
}

const key = (k: PsiPairDay) => [k.collaboration, k.serverMember, k.clientMember, k.day];

/** How many sessions the pair opened that day (0 when none). */
export async function sessionsOpened(db: StateReader, pairDay: PsiPairDay): Promise<number> {
  const [row] = await db.all(
    'SELECT opened FROM psi_sessions_opened WHERE collaboration = $1 AND server_member = $2 AND client_member ' +
      '= $3 AND day = $4',
    key(pairDay),
  );
  return row === undefined ? 0 : Number(row.opened);
}

/** Counts one more session for the pair that day: one small row per collaboration, pair and day. */
export async function countSessionOpened(tx: StateTx, pairDay: PsiPairDay): Promise<void> {
  await tx.run(
    `INSERT INTO psi_sessions_opened (collaboration, server_member, client_member, day, opened)
     VALUES ($1, $2, $3, $4, 1)
     ON CONFLICT (collaboration, server_member, client_member, day) DO UPDATE SET opened = opened + 1`,
    key(pairDay),
  );
}
