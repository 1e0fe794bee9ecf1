import { createReadStream } from 'node:fs';
import { readdir, unlink } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fromBase64 } from '../crypto/bytes.ts';
import { unwrapKey } from '../crypto/sealing.ts';
import { residencyDiagnostics } from '../policy/residency.ts';
import type { Collaboration, Dataset } from '../policy/collaboration.ts';
import { ConflictError } from '../errors/cleanroom-error.ts';
import {
  currentVersion,
  currentVersions,
  envelopeFiles,
  type DatasetVersion,
} from '../store/state/dataset-versions.ts';
import { storageKeyOf } from '../store/state/storage-keys.ts';
import { decryptIntoEngine, tableShape } from '../upload/decrypt-into-engine.ts';
import { warmOneRowPerPerson } from '../release/one-row-per-person.ts';
import { envelopePath, type RoomServices } from './room-services.ts';

async function* filesUnder(directory: string): AsyncGenerator<string> {
  for (const entry of await readdir(directory, { withFileTypes: true }).catch(() => [])) {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) yield* filesUnder(path);
    else yield path;
  }
}

/** Deletes partial uploads a crash left behind, and envelopes no committed version refers to. */
export async function sweepEnvelopes(services: RoomServices): Promise<string[]> {
  const root = envelopePath(services, '');
  const registered = await envelopeFiles(services.state);
  const removed: string[] = [];
  for await (const path of filesUnder(root)) {
    if (!registered.has(relative(root, path))) {
      await unlink(path);
      removed.push(relative(root, path));
    }
  }
  return removed;
}

/**
 * Rebuilds the in-memory engine from the sealed envelopes at start: plaintext exists only in
 * memory, so after a restart the envelopes are the data. Each envelope must still hash to what
 * the registry recorded; one that does not is reported and left unloaded, never half-loaded.
 */
export async function reloadDatasets(services: RoomServices): Promise<{ loaded: number; failed: string[] }> {
  const removed = await sweepEnvelopes(services);
  if (removed.length > 0) services.log.warn({ removed }, 'removed envelopes of uploads that never committed');
  const failed: string[] = [];
  let loaded = 0;
  for (const version of await currentVersions(services.state)) {
    const collaboration = services.collaborations.get(version.collaboration);
    const dataset = collaboration?.datasets.get(version.dataset);
    const label = `${version.collaboration}/${version.dataset}@${version.version}`;
    if (!collaboration || !dataset) {
      services.log.warn({ dataset: label }, 'stored dataset is no longer in any policy; not loaded');
      continue;
    }
    if (residencyDiagnostics(services.config.residency, [dataset]).length > 0) {
      services.log.warn(
        { dataset: label, region: dataset.region, processes: services.config.residency.processes },
        'stored dataset is declared in a region this room may not process; not loaded',
      );
      continue;
    }
    try {
      await loadStoredVersion(services, collaboration, dataset, version);
      loaded += 1;
    } catch (error) {
      failed.push(label);
      const cause = (error as Error).cause;
      services.log.error(
        { dataset: label, reason: (error as Error).message, cause: cause instanceof Error ? cause.message : undefined },
        'could not reload a stored dataset',
      );
    }
  }
  await services.staging.empty();
  return { loaded, failed };
}

/**
 * Loads one recorded version from its envelope into the engine and the executor and makes it the live
 * one (at start, and when an upload's own swap failed after its version was recorded). The envelope
 * must hash to what the registry recorded and hold its rows; anything else loads nothing.
 */
export async function loadStoredVersion(
  services: RoomServices,
  collaboration: Collaboration,
  dataset: Dataset,
  version: DatasetVersion,
): Promise<void> {
  const wrappedStorage = await storageKeyOf(services.state, version.collaboration, version.dataset);
  const storage = unwrapKey(services.keys.masterKey, fromBase64(wrappedStorage ?? '') ?? new Uint8Array());
  const dataKey = storage && unwrapKey(storage, fromBase64(version.wrappedDataKey) ?? new Uint8Array());
  storage?.fill(0);
  if (!dataKey) throw new Error('the stored data key does not open with the master key');
  const shape = tableShape(collaboration.id, dataset);
  const notCommitted = () => new Error('the envelope on disk is not the one that was committed');
  let result;
  try {
    result = await decryptIntoEngine(
      createReadStream(envelopePath(services, version.envelopeFile)),
      () => dataKey,
      shape,
      version.format,
      services.engine,
      services.staging,
      {
        authenticate: (opened) => {
          if (opened.envelopeSha256 !== version.envelopeSha256) throw notCommitted();
        },
        // Already accepted under the limit in force then; a lower limit now must not unload it.
        maxParquetBytes: Number.POSITIVE_INFINITY,
      },
    );
  } finally {
    dataKey.fill(0);
  }
  if (result.rows !== version.rows) {
    await services.engine.discardIncoming(shape, result.incomingName);
    throw notCommitted();
  }
  try {
    await services.executor.stage(shape, result.incomingName, version.version, {
      envelopeSha256: version.envelopeSha256,
      rows: version.rows,
    });
  } catch (error) {
    await services.engine.discardIncoming(shape, result.incomingName);
    throw error;
  }
  let swapped = false;
  try {
    await swapInVersion(services, collaboration, dataset, result.incomingName, version.version, () => {
      swapped = true;
    });
  } catch (error) {
    // Staged on the executor and not committed here: the copy goes too, or the sweep would keep it.
    if (!swapped) {
      await services.executor.discard(shape, version.version).catch(() => undefined);
      await services.engine.discardIncoming(shape, result.incomingName).catch(() => undefined);
    }
    throw error;
  }
}

/**
 * Makes a loaded version (the engine's incoming table, the executor's staged copy) the live one, for an
 * upload and a reload alike: in the engine's load queue the state must still name it (a deletion or a
 * newer version committed meanwhile wins); the executor switches inside the swap, so no release plans on
 * one version and reads another (DataEngine.tableGeneration); `onSwapped` runs as the swap lands. After
 * it, outside the load queue, the one-row-per-person check is started and the executor's replaced copy
 * dropped (a failure to drop is logged, the start-up reconcile drops it later, and never fails the swap).
 */
export async function swapInVersion(
  services: RoomServices,
  collaboration: Collaboration,
  dataset: Dataset,
  incomingName: string,
  version: number,
  onSwapped: () => void = () => undefined,
): Promise<void> {
  const shape = tableShape(collaboration.id, dataset);
  let replaced: number | undefined;
  await services.engine.commitIncoming(shape, incomingName, {
    version,
    beforeSwap: () => requireStillCurrent(services, collaboration, dataset, version),
    afterSwap: async () => {
      onSwapped();
      replaced = await services.executor.commit(shape, version);
    },
  });
  warmOneRowPerPerson(services.engine, collaboration.id, dataset);
  if (replaced === undefined) return;
  const dropped = replaced;
  await services.executor
    .discard(shape, dropped)
    .catch((error: unknown) =>
      services.log.warn(
        { dataset: `${shape.schema}.${shape.table}`, version: dropped, reason: (error as Error).message },
        'could not drop a replaced version on the executor',
      ),
    );
}

/**
 * Refuses to swap in `version` unless the state still names it the dataset's current one: a deletion
 * (or, in principle, a newer version) committed since the version was recorded wins.
 */
export async function requireStillCurrent(
  services: RoomServices,
  collaboration: Collaboration,
  dataset: Dataset,
  version: number,
): Promise<void> {
  const now = await currentVersion(services.state, collaboration.id, dataset.name);
  if (now?.version === version) return;
  if (!now)
    throw new ConflictError(
      'UPLOAD_OVERTAKEN_BY_DELETION',
      `"${dataset.name}" was deleted while version ${version} was being loaded; nothing of it was kept.`,
      { dataset: dataset.name, version },
    );
  throw new ConflictError(
    'UPLOAD_STALE_VERSION',
    `Version ${now.version} of "${dataset.name}" was committed while version ${version} was being loaded.`,
    { dataset: dataset.name, version, currentVersion: now.version },
  );
}
