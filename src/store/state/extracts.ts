import type { Row, StateReader, StateTx } from '../state-db.ts';

/** One released extract: what it generalised how, on which version, sealed to whom; the file is its sealed envelope. */
export interface StoredExtract {
  readonly collaboration: string;
  readonly id: string;
  readonly template: string;
  readonly templateHash: string;
  readonly dataset: string;
  readonly dataVersion: number;
  /** the member it is sealed to */
  readonly recipient: string;
  /** the principal who ran it */
  readonly requestedBy: string;
  /** quasi-identifier → its level in the lattice (0 as stored … top *), as JSON text */
  readonly levels: string;
  /** the release report (levels, k, l, t, suppressed share, loss), as JSON text */
  readonly report: string;
  /** the sealed envelope's path under the room's extract directory */
  readonly file: string;
  readonly fileSha256: string;
  /** ISO 8601 UTC, written and read back (state-db returns timestamps as ISO text) */
  readonly createdAt: string;
}

const toExtract = (r: Row): StoredExtract => ({
  collaboration: String(r.collaboration),
  id: String(r.id),
  template: String(r.template),
  templateHash: String(r.template_hash),
  dataset: String(r.dataset),
  dataVersion: Number(r.data_version),
  recipient: String(r.recipient),
  requestedBy: String(r.requested_by),
  levels: String(r.levels),
  report: String(r.report),
  file: String(r.file),
  fileSha256: String(r.file_sha256),
  createdAt: String(r.created_at),
});

/** Every extract of a dataset released to a member, oldest first: what a new extract must compose with. */
export async function extractsTo(
  db: StateReader,
  collaboration: string,
  dataset: string,
  recipient: string,
): Promise<StoredExtract[]> {
  const rows = await db.all(
    'SELECT * FROM extracts WHERE collaboration = $1 AND dataset = $2 AND recipient = $3 ORDER BY created_at, id',
    [collaboration, dataset, recipient],
  );
  return rows.map(toExtract);
}

export async function extractById(
  db: StateReader,
  collaboration: string,
  id: string,
): Promise<StoredExtract | undefined> {
  const [row] = await db.all('SELECT * FROM extracts WHERE collaboration = $1 AND id = $2', [collaboration, id]);
  return row ? toExtract(row) : undefined;
}

export async function recordExtract(tx: StateTx, e: StoredExtract): Promise<void> {
  await tx.run(
    'INSERT INTO extracts (collaboration, id, template, template_hash, dataset, data_version, recipient, ' +
      'requested_by, levels, report, file, file_sha256, created_at) ' +
      'VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)',
    [
      e.collaboration,
      e.id,
      e.template,
      e.templateHash,
      e.dataset,
      e.dataVersion,
      e.recipient,
      e.requestedBy,
      e.levels,
      e.report,
      e.file,
      e.fileSha256,
      e.createdAt,
    ],
  );
}

/** Every extract made from a dataset, to anyone: what its deletion removes the files of. */
export async function extractsOf(db: StateReader, collaboration: string, dataset: string): Promise<StoredExtract[]> {
  const rows = await db.all('SELECT * FROM extracts WHERE collaboration = $1 AND dataset = $2 ORDER BY id', [
    collaboration,
    dataset,
  ]);
  return rows.map(toExtract);
}
