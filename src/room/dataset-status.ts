import { NotFoundError } from '../errors/cleanroom-error.ts';
import type { Collaboration } from '../policy/collaboration.ts';
import type { DatasetDocument } from '../policy/policy-document.ts';
import { currentVersion, latestVersionNumber } from '../store/state/dataset-versions.ts';
import { expiresAt } from './dataset-deletion.ts';
import type { RoomServices } from './room-services.ts';

/** A dataset's declaration and what its members may know of its current version. */
export interface DatasetStatus {
  readonly dataset: DatasetDocument;
  readonly current: {
    readonly version: number;
    readonly rows: number;
    readonly envelopeSha256: string;
    readonly uploadedAt: string;
    readonly signer: string;
    /** when the retention sweep deletes it (upload + retentionDays) */
    readonly expiresAt: string;
  } | null;
  /** the version number the next upload carries (numbers never repeat, deleted versions included) */
  readonly nextVersion: number;
}

/** The declared dataset and its current version (null before the first upload). */
export async function datasetStatus(
  services: RoomServices,
  collaboration: Collaboration,
  name: string,
): Promise<DatasetStatus> {
  const dataset = collaboration.datasets.get(name);
  if (!dataset)
    throw new NotFoundError('DATASET_NOT_FOUND', `Collaboration "${collaboration.id}" declares no dataset "${name}".`);
  const version = await currentVersion(services.state, collaboration.id, dataset.name);
  return {
    dataset: dataset.document,
    current: version
      ? {
          version: version.version,
          rows: version.rows,
          envelopeSha256: version.envelopeSha256,
          uploadedAt: version.uploadedAt,
          signer: version.signer,
          expiresAt: new Date(expiresAt(dataset, version)).toISOString(),
        }
      : null,
    nextVersion: (await latestVersionNumber(services.state, collaboration.id, dataset.name)) + 1,
  };
}
