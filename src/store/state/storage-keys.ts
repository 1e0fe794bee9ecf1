import type { StateReader, StateTx } from '../state-db.ts';

/** A dataset's storage key, wrapped under the master key (base64), if it has one yet. */
export async function storageKeyOf(
  db: StateReader,
  collaboration: string,
  dataset: string,
): Promise<string | undefined> {
  const [row] = await db.all('SELECT wrapped_key FROM storage_keys WHERE collaboration = $1 AND dataset = $2', [
    collaboration,
    dataset,
  ]);
  return row ? String(row.wrapped_key) : undefined;
}

/**
 * The dataset's wrapped storage key: the stored one, or `wrapped`, stored now. One key per dataset, for every version.
 */
export async function ensureStorageKey(
  tx: StateTx,
  collaboration: string,
  dataset: string,
  wrapped: string,
): Promise<string> {
  const stored = await storageKeyOf(tx, collaboration, dataset);
  if (stored !== undefined) return stored;
  await tx.run('INSERT INTO storage_keys (collaboration, dataset, wrapped_key) VALUES ($1, $2, $3)', [
    collaboration,
    dataset,
    wrapped,
  ]);
  return wrapped;
}

/** Destroys a dataset's storage key: every data key wrapped under it can no longer be opened. */
export async function destroyStorageKey(tx: StateTx, collaboration: string, dataset: string): Promise<void> {
  await tx.run('DELETE FROM storage_keys WHERE collaboration = $1 AND dataset = $2', [collaboration, dataset]);
}
