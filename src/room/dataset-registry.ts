import type { Row, StateDb, StateTx } from '../store/state-db.ts';

/** One stored version of a dataset, as the registry records it. */
export interface DatasetVersion {
  readonly collaboration: string;
  readonly dataset: string;
  readonly version: number;
  readonly envelopeFile: string;
  readonly envelopeSha256: string;
  readonly manifest: string;
  readonly signature: string;
  readonly signer: string;
  readonly format: 'csv' | 'parquet';
  readonly rows: number;
  readonly plaintextBytes: number;
  readonly wrappedDataKey: string;
  readonly uploadedAt: string;
}

const toVersion = (r: Row): DatasetVersion => ({
  collaboration: String(r.collaboration), dataset: String(r.dataset), version: Number(r.version),
  envelopeFile: String(r.envelope_file), envelopeSha256: String(r.envelope_sha256), manifest: String(r.manifest),
  signature: String(r.signature), signer: String(r.signer), format: r.format === 'parquet' ? 'parquet' : 'csv',
  rows: Number(r.row_count), plaintextBytes: Number(r.plaintext_bytes), wrappedDataKey: String(r.wrapped_data_key),
  uploadedAt: String(r.uploaded_at),
});

/** The newest version of every dataset of every collaboration: what the room loads at start. */
export async function currentVersions(state: StateDb): Promise<DatasetVersion[]> {
  const rows = await state.read(`
    SELECT * FROM dataset_versions v
    WHERE version = (SELECT max(version) FROM dataset_versions w WHERE w.collaboration = v.collaboration AND w.dataset = v.dataset)
    ORDER BY collaboration, dataset`);
  return rows.map(toVersion);
}

export async function currentVersion(state: StateDb, collaboration: string, dataset: string): Promise<DatasetVersion | undefined> {
  const rows = await state.read(
    'SELECT * FROM dataset_versions WHERE collaboration = $1 AND dataset = $2 ORDER BY version DESC LIMIT 1', [collaboration, dataset]);
  return rows[0] ? toVersion(rows[0]) : undefined;
}

export async function allEnvelopeFiles(state: StateDb): Promise<Set<string>> {
  return new Set((await state.read('SELECT envelope_file FROM dataset_versions')).map((r) => String(r.envelope_file)));
}

export async function recordVersion(tx: StateTx, v: DatasetVersion): Promise<void> {
  await tx.run(
    `INSERT INTO dataset_versions (collaboration, dataset, version, envelope_file, envelope_sha256, manifest, signature, signer,
       format, row_count, plaintext_bytes, wrapped_data_key, uploaded_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
    [v.collaboration, v.dataset, v.version, v.envelopeFile, v.envelopeSha256, v.manifest, v.signature, v.signer,
      v.format, v.rows, v.plaintextBytes, v.wrappedDataKey, v.uploadedAt],
  );
}

export async function storageKey(state: StateDb, collaboration: string, dataset: string): Promise<string | undefined> {
  const rows = await state.read('SELECT wrapped_key FROM storage_keys WHERE collaboration = $1 AND dataset = $2', [collaboration, dataset]);
  return rows[0] ? String(rows[0].wrapped_key) : undefined;
}

export async function ensureStorageKey(tx: StateTx, collaboration: string, dataset: string, wrapped: string): Promise<string> {
  const rows = await tx.all('SELECT wrapped_key FROM storage_keys WHERE collaboration = $1 AND dataset = $2', [collaboration, dataset]);
  if (rows[0]) return String(rows[0].wrapped_key);
  await tx.run('INSERT INTO storage_keys VALUES ($1, $2, $3)', [collaboration, dataset, wrapped]);
  return wrapped;
}
