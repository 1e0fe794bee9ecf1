import type { StateReader, StateTx } from '../state-db.ts';

/** One PSI member pair in one collaboration: the ε its room-counted sessions have spent. */
export interface PsiPair {
  readonly collaboration: string;
  readonly serverMember: string;
  readonly clientMember: string;
}

const key = (k: PsiPair) => [k.collaboration, k.serverMember, k.clientMember];

/** ε the pair has spent so far (0 when none). */
export async function psiEpsilonSpent(db: StateReader, pair: PsiPair): Promise<number> {
  const [row] = await db.all(
    'SELECT epsilon FROM psi_epsilon_spent WHERE collaboration = $1 AND server_member = $2 AND client_member = $3',
    key(pair),
  );
  return row === undefined ? 0 : Number(row.epsilon);
}

/** Adds one session's ε to the pair's total. */
export async function spendPsiEpsilon(tx: StateTx, pair: PsiPair, epsilon: number): Promise<void> {
  await tx.run(
    `INSERT INTO psi_epsilon_spent (collaboration, server_member, client_member, epsilon, sessions)
     VALUES ($1, $2, $3, $4, 1)
     ON CONFLICT (collaboration, server_member, client_member)
     DO UPDATE SET epsilon = epsilon + EXCLUDED.epsilon, sessions = sessions + 1`,
    [...key(pair), epsilon],
  );
}
