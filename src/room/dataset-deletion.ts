import { unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { extractsOf } from '../store/state/extracts.ts';
import { extractDirectory } from './extracts.ts';
import { ForbiddenError, NotFoundError } from '../errors/cleanroom-error.ts';
import type { Collaboration, Dataset, Principal } from '../policy/collaboration.ts';
import { heldVersions, markVersionsDeleted, type DatasetVersion } from '../store/state/dataset-versions.ts';
import { destroyStorageKey } from '../store/state/storage-keys.ts';
import { recordAudit } from './audit-trail.ts';
import { envelopePath, type RoomServices } from './room-services.ts';

const DAY_MS = 86_400_000;

/** What a deletion removed, as its answer and audit entry say. */
export interface DatasetDeletion {
  readonly dataset: string;
  readonly versions: readonly number[];
  /** true when the whole dataset went: its table dropped and its storage key destroyed */
  readonly whole: boolean;
  readonly reason: string;
  readonly auditSeq: number;
}

/** Which held versions to delete, chosen inside the deletion's transaction; undefined deletes nothing. */
type Choice = (held: readonly DatasetVersion[]) => { versions: DatasetVersion[]; whole: boolean } | undefined;

/**
 * Deletes versions of a dataset by crypto-shredding: in one state transaction the held versions are
 * read, the chosen ones marked deleted with their wrapped data keys erased (and, for the whole
 * dataset, its storage key destroyed) and the act is audited; then the live table is dropped (new
 * queries stop seeing it at once) and the envelopes and the sealed extracts of those versions
 * unlinked. A crash between the two leaves envelopes no key opens, which the start-up sweep removes
 * (they are no longer registered). Reading the held versions inside the transaction means an upload
 * committed a moment earlier is deleted too, never left behind.
 */
async function shred(
  services: RoomServices,
  collaboration: Collaboration,
  dataset: Dataset,
  choose: Choice,
  actor: string,
  reason: string,
): Promise<DatasetDeletion | undefined> {
  const done = await services.state.write(async (tx) => {
    const chosen = choose(await heldVersions(tx, collaboration.id, dataset.name));
    if (!chosen) return undefined;
    const { versions, whole } = chosen;
    const numbers = versions.map((v) => v.version);
    await markVersionsDeleted(tx, collaboration.id, dataset.name, numbers, new Date().toISOString());
    if (whole) await destroyStorageKey(tx, collaboration.id, dataset.name);
    const entry = await recordAudit(services, tx, {
      collaboration: collaboration.id,
      actor,
      action: 'dataset.deleted',
      details: {
        dataset: dataset.name,
        versions: numbers,
        envelopeSha256: versions.map((v) => v.envelopeSha256),
        whole,
        storageKeyDestroyed: whole,
        reason,
      },
    });
    return { versions, whole, entry };
  });
  if (!done) return undefined;
  const { versions, whole, entry } = done;
  // The engine may still serve a version a partial deletion removed: when an upload's swap and its
  // reload both failed, the state names the newer version while the engine holds the older one
  // (third hostile review: retention shredded it and partners' queries went on reading it). Its table
  // goes as a whole deletion's does; the newer version loads at the next start.
  const served = services.engine.liveVersion(collaboration.id, dataset.name);
  if (whole || (served !== undefined && versions.some((v) => v.version === served))) {
    await services.engine.dropTable(collaboration.id, dataset.name);
    // Committed already: a failed drop on the executor is logged and retried by the hourly sweep and
    // at the next start (reconcile), never answered as a failed deletion.
    await services.executor
      .drop(collaboration.id, dataset.name)
      .catch((error: unknown) =>
        services.log.error(
          { collaboration: collaboration.id, dataset: dataset.name, reason: (error as Error).message },
          'could not drop a deleted dataset on the query executor; retried by the next sweep',
        ),
      );
  }
  for (const v of versions)
    await unlink(envelopePath(services, v.envelopeFile)).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') services.log.error({ err: error, file: v.envelopeFile }, 'envelope not removed');
    });
  // Sealed extracts of deleted versions go with them (their rows stay: later extracts compose with them).
  const numbers = versions.map((v) => v.version);
  for (const extract of await extractsOf(services.state, collaboration.id, dataset.name))
    if (numbers.includes(extract.dataVersion))
      await unlink(join(extractDirectory(services, collaboration.id), extract.file)).catch(() => undefined);
  return { dataset: dataset.name, versions: numbers, whole, reason, auditSeq: entry.seq };
}

/** `DELETE …/datasets/:name`: the owner's provider or officer deletes every held version now. */
export async function deleteDataset(
  services: RoomServices,
  collaboration: Collaboration,
  caller: Principal,
  name: string,
): Promise<DatasetDeletion> {
  const dataset = collaboration.datasets.get(name);
  if (!dataset)
    throw new NotFoundError('DATASET_NOT_FOUND', `Collaboration "${collaboration.id}" declares no dataset "${name}".`, {
      dataset: name,
    });
  if (caller.memberId !== dataset.owner || !(caller.roles.has('provider') || caller.roles.has('officer')))
    throw new ForbiddenError(
      'NOT_DATASET_OWNER',
      `Only a provider or officer of "${dataset.owner}", the dataset's owner, may delete "${dataset.name}".`,
      { owner: dataset.owner, member: caller.memberId },
    );
  const deletion = await shred(
    services,
    collaboration,
    dataset,
    (held) => (held.length > 0 ? { versions: [...held], whole: true } : undefined),
    caller.id,
    'deleted at the owner’s request',
  );
  if (!deletion)
    throw new NotFoundError('DATASET_NOT_LOADED', `"${dataset.name}" holds no version to delete.`, {
      datasets: [dataset.name],
    });
  return deletion;
}

/** The moment a version's retention ends: its upload plus the dataset's retentionDays. */
export const expiresAt = (dataset: Dataset, version: DatasetVersion): number =>
  Date.parse(version.uploadedAt) + dataset.retentionDays * DAY_MS;

/**
 * The retention sweep (at start and on a timer): every version past its dataset's retentionDays is
 * deleted; when the newest one is, the whole dataset goes (table, storage key, every version).
 */
export async function sweepRetention(services: RoomServices, now = Date.now()): Promise<DatasetDeletion[]> {
  const done: DatasetDeletion[] = [];
  for (const collaboration of services.collaborations.values())
    for (const dataset of collaboration.datasets.values()) {
      const reason = `retention: ${dataset.retentionDays} days after upload`;
      const deletion = await shred(
        services,
        collaboration,
        dataset,
        (held) => {
          const expired = held.filter((v) => expiresAt(dataset, v) <= now);
          return expired.length > 0 ? { versions: expired, whole: expired.length === held.length } : undefined;
        },
        'room',
        reason,
      );
      if (deletion) done.push(deletion);
    }
  if (done.length > 0) services.log.info({ deleted: done }, 'retention sweep deleted expired dataset versions');
  return done;
}
