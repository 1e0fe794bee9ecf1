import type { Row, StateReader, StateTx } from '../state-db.ts';

/** One stored version of a dataset, as the registry records it. */
export interface DatasetVersion {
  readonly collaboration: string;
  readonly dataset: string;
  readonly version: number;
  /** the envelope's path under the room's envelope directory */
  readonly envelopeFile: string;
  readonly envelopeSha256: string;
  /** the signed manifest, as JSON text */
  readonly manifest: string;
  readonly signature: string;
  readonly signer: string;
  readonly format: 'csv' | 'parquet';
  readonly rows: number;
  readonly plaintextBytes: number;
  /** the data key, wrapped under the dataset's storage key (base64) */
  readonly wrappedDataKey: string;
  /** ISO 8601 UTC, written and read back (state-db returns timestamps as ISO text) */
  readonly uploadedAt: string;
}

const toVersion = (r: Row): DatasetVersion => ({
  collaboration: String(r.collaboration),
  dataset: String(r.dataset),
  version: Number(r.version),
  envelopeFile: String(r.envelope_file),
  envelopeSha256: String(r.envelope_sha256),
  manifest: String(r.manifest),
  signature: String(r.signature),
  signer: String(r.signer),
  format: r.format === 'parquet' ? 'parquet' : 'csv',
  rows: Number(r.row_count),
  plaintextBytes: Number(r.plaintext_bytes),
  wrappedDataKey: String(r.wrapped_data_key),
  uploadedAt: String(r.uploaded_at),
});

/**
 * The newest version of every dataset of every collaboration, ordered by collaboration and dataset: what the room loads
 * at start.
 */
export async function currentVersions(db: StateReader): Promise<DatasetVersion[]> {
  const rows = await db.all(`
    SELECT * FROM dataset_versions v
    WHERE deleted_at IS NULL AND version = (SELECT max(version) FROM dataset_versions w
                     WHERE w.collaboration = v.collaboration AND w.dataset = v.dataset AND w.deleted_at IS NULL)
    ORDER BY collaboration, dataset`);
  return rows.map(toVersion);
}

/** The newest version of one dataset, if it has any. */
export async function currentVersion(
  db: StateReader,
  collaboration: string,
  dataset: string,
): Promise<DatasetVersion | undefined> {
  const [row] = await db.all(
    'SELECT * FROM dataset_versions WHERE collaboration = $1 AND dataset = $2 AND deleted_at IS NULL ' +
      'ORDER BY version DESC LIMIT 1',
    [collaboration, dataset],
  );
  return row ? toVersion(row) : undefined;
}

/** The newest version number of one dataset, 0 when it has none. */
export async function latestVersionNumber(db: StateReader, collaboration: string, dataset: string): Promise<number> {
  const [row] = await db.all(
    'SELECT max(version) AS v FROM dataset_versions WHERE collaboration = $1 AND dataset = $2',
    [collaboration, dataset],
  );
  return Number(row?.v ?? 0);
}

/** Every envelope file a committed, undeleted version refers to: the rest on disk is debris (or deleted). */
export async function envelopeFiles(db: StateReader): Promise<Set<string>> {
  const rows = await db.all('SELECT envelope_file FROM dataset_versions WHERE deleted_at IS NULL');
  return new Set(rows.map((r) => String(r.envelope_file)));
}

/**
 * Records a version; (collaboration, dataset, version) and the envelope hash are unique, so a repeat fails the
 * transaction.
 */
export async function recordVersion(tx: StateTx, v: DatasetVersion): Promise<void> {
  await tx.run(
    `INSERT INTO dataset_versions (collaboration, dataset, version, envelope_file, envelope_sha256, manifest, signature,
       signer, format, row_count, plaintext_bytes, wrapped_data_key, uploaded_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
    [
      v.collaboration,
      v.dataset,
      v.version,
      v.envelopeFile,
      v.envelopeSha256,
      v.manifest,
      v.signature,
      v.signer,
      v.format,
      v.rows,
      v.plaintextBytes,
      v.wrappedDataKey,
      v.uploadedAt,
    ],
  );
}

/** The versions of one dataset still held (not deleted), oldest first. */
export async function heldVersions(db: StateReader, collaboration: string, dataset: string): Promise<DatasetVersion[]> {
  const rows = await db.all(
    'SELECT * FROM dataset_versions WHERE collaboration = $1 AND dataset = $2 AND deleted_at IS NULL ORDER BY version',
    [collaboration, dataset],
  );
  return rows.map(toVersion);
}

/** Whether a version is held: uploaded and not deleted (by its owner or by retention). */
export async function versionHeld(
  db: StateReader,
  collaboration: string,
  dataset: string,
  version: number,
): Promise<boolean> {
  const rows = await db.all(
    'SELECT 1 FROM dataset_versions WHERE collaboration = $1 AND dataset = $2 AND version = $3 AND deleted_at IS NULL',
    [collaboration, dataset, version],
  );
  return rows.length > 0;
}

/** Marks versions deleted and erases their wrapped data keys: without its key a version's envelope is noise. */
export async function markVersionsDeleted(
  tx: StateTx,
  collaboration: string,
  dataset: string,
  versions: readonly number[],
  deletedAt: string,
): Promise<void> {
  for (const version of versions)
    await tx.run(
      "UPDATE dataset_versions SET deleted_at = $4, wrapped_data_key = '' WHERE collaboration = $1 AND dataset = $2 " +
        'AND version = $3',
      [collaboration, dataset, version, deletedAt],
    );
}
