import type { Row, StateReader, StateTx } from '../state-db.ts';

/** One trained model: its signed card (JSON text), known by the audit entry that recorded it. */
export interface StoredModel {
  readonly collaboration: string;
  readonly auditSeq: number;
  readonly template: string;
  readonly dataset: string;
  readonly recipient: string;
  readonly dp: boolean;
  readonly card: string;
  /** written as ISO 8601 */
  readonly createdAt: string;
}

const toModel = (r: Row): StoredModel => ({
  collaboration: String(r.collaboration),
  auditSeq: Number(r.audit_seq),
  template: String(r.template),
  dataset: String(r.dataset),
  recipient: String(r.recipient),
  dp: r.dp === true,
  card: String(r.card),
  createdAt: String(r.created_at),
});

export async function recordModel(tx: StateTx, m: StoredModel): Promise<void> {
  await tx.run(
    'INSERT INTO models (collaboration, audit_seq, template, dataset, recipient, dp, card, created_at) ' +
      'VALUES ($1, $2, $3, $4, $5, $6, $7, $8)',
    [m.collaboration, m.auditSeq, m.template, m.dataset, m.recipient, m.dp, m.card, m.createdAt],
  );
}

export async function modelBySeq(
  db: StateReader,
  collaboration: string,
  auditSeq: number,
): Promise<StoredModel | undefined> {
  const [row] = await db.all('SELECT * FROM models WHERE collaboration = $1 AND audit_seq = $2', [
    collaboration,
    auditSeq,
  ]);
  return row ? toModel(row) : undefined;
}

/** A collaboration's models, oldest first. */
export async function modelsOf(db: StateReader, collaboration: string): Promise<StoredModel[]> {
  return (await db.all('SELECT * FROM models WHERE collaboration = $1 ORDER BY audit_seq', [collaboration])).map(
    toModel,
  );
}
