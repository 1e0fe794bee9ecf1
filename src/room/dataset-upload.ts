import { refuseIf } from '../errors/refused-error.ts';
import { residencyDiagnostics } from '../policy/residency.ts';
import { mkdir, rename, unlink } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { fromBase64, toBase64 } from '../crypto/bytes.ts';
import type { EnvelopeHeader } from '../crypto/envelope-format.ts';
import { openSealed, randomKey, unwrapKey, wrapKey } from '../crypto/sealing.ts';
import {
  CleanroomError,
  ConflictError,
  ForbiddenError,
  NotFoundError,
  PayloadTooLargeError,
  RequestTimeoutError,
  UnavailableError,
} from '../errors/cleanroom-error.ts';
import { storageFailureOf, storageUnavailable } from '../errors/storage-failure.ts';
import type { Collaboration, Dataset, Principal } from '../policy/collaboration.ts';
import { currentVersion, latestVersionNumber, recordVersion } from '../store/state/dataset-versions.ts';
import { ensureStorageKey } from '../store/state/storage-keys.ts';
import { decryptIntoEngine, tableShape, type LoadedIncoming } from '../upload/decrypt-into-engine.ts';
import type { UploadManifest } from '../upload/manifest.ts';
import { verifyLoadedRows, verifyUpload } from '../upload/verify-upload.ts';
import { loadStoredVersion, requireStillCurrent, swapInVersion } from './dataset-reload.ts';
import { recordAudit } from './audit-trail.ts';
import { CiphertextTee } from './ciphertext-tee.ts';
import { requireActive } from './policy-acceptance.ts';
import { requireRole } from './require-role.ts';
import { envelopePath, type RoomServices } from './room-services.ts';

export interface UploadReceipt {
  readonly collaboration: string;
  readonly dataset: string;
  readonly version: number;
  readonly rows: number;
  readonly envelopeSha256: string;
  readonly auditSeq: number;
}

/** Counts bytes as they pass and refuses past the limit, before reading the rest. */
async function* limited(source: AsyncIterable<Uint8Array>, maxBytes: number): AsyncGenerator<Uint8Array> {
  let total = 0;
  for await (const piece of source) {
    total += piece.length;
    if (total > maxBytes)
      throw new PayloadTooLargeError(
        'UPLOAD_TOO_LARGE',
        `The upload is larger than this room's limit of ${maxBytes} bytes.`,
        { maxBytes },
      );
    yield piece;
  }
}

/** Progress is counted in steps of this many bytes: a trickle below one step per idle period is a stall. */
const PROGRESS_STEP_BYTES = 64 * 1024;

/**
 * Refuses a body that makes no progress for `idleMs`, progress being another 64 KiB: a client that
 * stalls or trickles (one byte a second resets no timer) holds a load slot and its staging pipe, so it
 * may not hold them for long. The whole-request limit is off, since an 8 GiB upload on a slow link
 * rightly takes longer than Node's default 5 minutes; 64 KiB a minute is far below any real link.
 */
async function* withIdleDeadline(source: AsyncIterable<Uint8Array>, idleMs: number): AsyncGenerator<Uint8Array> {
  const iterator = source[Symbol.asyncIterator]();
  let timer: NodeJS.Timeout | undefined;
  let stalled!: Promise<never>;
  const arm = () => {
    clearTimeout(timer);
    stalled = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new RequestTimeoutError(
              'UPLOAD_STALLED',
              `The upload sent less than ${PROGRESS_STEP_BYTES / 1024} KiB in ${idleMs / 1000} s and was stopped; ` +
                'nothing was kept. Upload again.',
              { idleTimeoutMs: idleMs },
            ),
          ),
        idleMs,
      );
    });
    stalled.catch(() => undefined);
  };
  let sinceProgress = 0;
  try {
    arm();
    for (;;) {
      const next = await Promise.race([iterator.next(), stalled]);
      if (next.done) return;
      sinceProgress += next.value.length;
      if (sinceProgress >= PROGRESS_STEP_BYTES) {
        sinceProgress = 0;
        arm();
      }
      yield next.value;
    }
  } finally {
    clearTimeout(timer);
    // Not awaited: a stalled body's pending read never settles; ending the request's stream is enough.
    void iterator.return?.()?.catch(() => undefined);
  }
}

/**
 * After a refusal mid-stream, reads (and discards) a bounded remainder of the body so the client
 * receives the error instead of a reset connection; a larger remainder is cut off.
 */
export async function drainRemainder(
  body: AsyncIterable<Uint8Array>,
  maxBytes = 64 * 1024 * 1024,
  maxMs = 10_000,
): Promise<void> {
  let drained = 0;
  const started = Date.now();
  const iterator = body[Symbol.asyncIterator]();
  let timer: NodeJS.Timeout | undefined;
  // A client that trickles the rest is not waited for: the refusal goes out after at most maxMs.
  const late = new Promise<{ done: true; value: undefined }>((resolve) => {
    timer = setTimeout(() => resolve({ done: true, value: undefined }), maxMs);
  });
  try {
    for (;;) {
      const next = await Promise.race([iterator.next(), late]);
      if (next.done) break;
      drained += next.value.length;
      if (drained > maxBytes || Date.now() - started > maxMs) break;
    }
  } catch {
    // the client went away; nothing left to drain
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Receives an encrypted upload: streams it through authentication and decryption into a new
 * incoming table while writing the ciphertext to a partial file; only when everything checks out
 * does it commit, in this order: envelope file renamed into place, registry and audit entry in one
 * transaction, then the live table swapped. A failure at any step leaves the previous version
 * registered, on disk and queryable; a crash leaves at most a partial file, swept at start.
 */
/**
 * Whether `uploader` may upload `datasetName` now: declared, a provider of its owner, from a region
 * the room processes, in an active collaboration. The upload runs it before reading a byte of the
 * body; `POST …/datasets/:name/upload-preflight` runs it alone, so a client learns a refusal before
 * it encrypts and streams a large file.
 */
export async function admitUpload(
  services: RoomServices,
  collaboration: Collaboration,
  uploader: Principal,
  datasetName: string,
): Promise<Dataset> {
  const dataset = collaboration.datasets.get(datasetName);
  if (!dataset)
    throw new NotFoundError(
      'DATASET_NOT_FOUND',
      `Collaboration "${collaboration.id}" declares no dataset "${datasetName}".`,
      { dataset: datasetName },
    );
  requireRole(uploader, 'provider', 'upload data');
  if (uploader.memberId !== dataset.owner) {
    throw new ForbiddenError(
      'NOT_DATASET_OWNER',
      `Only a provider of "${dataset.owner}", the dataset's owner, may upload "${dataset.name}".`,
      { owner: dataset.owner, member: uploader.memberId },
    );
  }
  // Data from a region the room may not process never arrives.
  refuseIf(residencyDiagnostics(services.config.residency, [dataset]));
  await requireActive(services, collaboration);
  return dataset;
}

export async function uploadDataset(
  services: RoomServices,
  collaboration: Collaboration,
  uploader: Principal,
  datasetName: string,
  body: AsyncIterable<Uint8Array>,
): Promise<UploadReceipt> {
  const dataset = await admitUpload(services, collaboration, uploader, datasetName);
  // One upload per member loads at a time, and only a few room-wide (upload-slots.ts); the body is not
  // read until this upload's turn.
  const releaseSlot = await services.uploadSlots.acquire(uploader.memberId);
  try {
    return await receiveUpload(services, collaboration, uploader, dataset, body);
  } finally {
    releaseSlot();
  }
}

async function receiveUpload(
  services: RoomServices,
  collaboration: Collaboration,
  uploader: Principal,
  dataset: Dataset,
  body: AsyncIterable<Uint8Array>,
): Promise<UploadReceipt> {
  const previous = await currentVersion(services.state, collaboration.id, dataset.name);
  // Version numbers never repeat, deleted versions included: the next one follows the latest ever held.
  const latest = await latestVersionNumber(services.state, collaboration.id, dataset.name);
  const fileName = `${collaboration.id}/${dataset.name}.${Date.now()}-${randomBytes(6).toString('hex')}.env`;
  const finalPath = envelopePath(services, fileName);
  const partialPath = `${finalPath}.partial`;

  let dataKey: Uint8Array | undefined;
  const unseal = (header: EnvelopeHeader) => {
    dataKey = openSealed(services.keys.sealing.secretKey, fromBase64(header.sealedKey) ?? new Uint8Array());
    return dataKey ? Uint8Array.from(dataKey) : undefined;
  };
  const shape = tableShape(collaboration.id, dataset);
  let loaded: LoadedIncoming<UploadManifest> | undefined;
  /** a version copied to the executor and not (yet) committed */
  let staged: number | undefined;
  let tee: CiphertextTee | undefined;
  try {
    await mkdir(envelopePath(services, collaboration.id), { recursive: true, mode: 0o700 });
    tee = await CiphertextTee.create(partialPath, services.openPartialFile);
    loaded = await decryptIntoEngine(
      tee.through(limited(withIdleDeadline(body, services.config.uploadIdleTimeoutMs), services.config.maxUploadBytes)),
      unseal,
      shape,
      dataset.format,
      services.engine,
      services.staging,
      {
        authenticate: (opened) =>
          verifyUpload(opened, {
            collaborationId: collaboration.id,
            dataset,
            uploader,
            currentVersion: latest,
          }),
        maxParquetBytes: services.config.maxParquetBytes,
      },
    );
    const manifest: UploadManifest = loaded.authenticated;
    verifyLoadedRows(manifest, loaded.rows);
    // The executor's copy (ClickHouse) is made before the version is committed, so a committed
    // version is always queryable wherever queries run.
    staged = manifest.version;
    await services.executor.stage(shape, loaded.incomingName, manifest.version, {
      envelopeSha256: loaded.opened.envelopeSha256,
      rows: loaded.rows,
    });
    await tee.sync();
    await tee.close();
    await rename(partialPath, finalPath);
    const opened = loaded.opened;
    const entry = await services.state
      .write(async (tx) => {
        // A concurrent upload of the same version may have committed while this one streamed.
        if ((await latestVersionNumber(tx, collaboration.id, dataset.name)) !== manifest.version - 1) {
          throw new ConflictError(
            'UPLOAD_STALE_VERSION',
            `Version ${manifest.version} of "${dataset.name}" was committed by another upload first.`,
            { manifestVersion: manifest.version },
          );
        }
        // A deletion that committed while this upload streamed wins: the owner asked for the dataset
        // gone, and an upload begun before the request must not bring it back.
        if (previous && !(await currentVersion(tx, collaboration.id, dataset.name)))
          throw new ConflictError(
            'UPLOAD_OVERTAKEN_BY_DELETION',
            `"${dataset.name}" was deleted while this upload streamed; nothing of it was kept. Upload again to ` +
              'start the dataset anew.',
            { dataset: dataset.name },
          );
        const storageKeyText = await ensureStorageKey(
          tx,
          collaboration.id,
          dataset.name,
          toBase64(wrapKey(services.keys.masterKey, randomKey())),
        );
        const storageKey = unwrapKey(
          services.keys.masterKey,
          fromBase64(storageKeyText) ?? new Uint8Array(),
        ) as Uint8Array;
        await recordVersion(tx, {
          collaboration: collaboration.id,
          dataset: dataset.name,
          version: manifest.version,
          envelopeFile: fileName,
          envelopeSha256: opened.envelopeSha256,
          manifest: JSON.stringify(manifest),
          signature: opened.trailer.signature,
          signer: uploader.id,
          format: manifest.format,
          rows: manifest.rows,
          plaintextBytes: manifest.plaintextBytes,
          wrappedDataKey: toBase64(wrapKey(storageKey, dataKey as Uint8Array)),
          uploadedAt: new Date().toISOString(),
        });
        storageKey.fill(0);
        return recordAudit(services, tx, {
          collaboration: collaboration.id,
          actor: uploader.id,
          action: 'dataset.uploaded',
          details: {
            dataset: dataset.name,
            version: manifest.version,
            rows: manifest.rows,
            envelopeSha256: opened.envelopeSha256,
            manifestSignature: opened.trailer.signature,
          },
        });
      })
      .catch(async (error: unknown) => {
        await unlink(finalPath).catch(() => undefined);
        throw error;
      });
    // A deletion committed since the state write has dropped the table (its drop ran first): the swap
    // checks the state in the load queue, or it would bring the rows back.
    let swapped = false;
    try {
      await swapInVersion(services, collaboration, dataset, loaded.incomingName, manifest.version, () => {
        swapped = true;
        loaded = undefined;
        staged = undefined;
      });
    } catch (error) {
      if (swapped || error instanceof ConflictError) throw error;
      // The version is recorded (and audited) and its envelope kept, but the engine still holds the one
      // before: load it from its envelope as a restart would, or the state and the engine would disagree
      // (extracts and models refuse then) until the room restarts. The executor's copy of this version
      // is the reload's to keep (it is the same envelope) or drop.
      const incoming = loaded;
      loaded = undefined;
      staged = undefined;
      if (incoming) await services.engine.discardIncoming(shape, incoming.incomingName).catch(() => undefined);
      await reloadRecorded(services, collaboration, dataset, manifest.version, error);
    }
    services.metrics.uploaded(collaboration.id, dataset.name, manifest.plaintextBytes);
    services.log.info(
      { collaboration: collaboration.id, dataset: dataset.name, version: manifest.version, rows: manifest.rows },
      'dataset version committed',
    );
    return {
      collaboration: collaboration.id,
      dataset: dataset.name,
      version: manifest.version,
      rows: manifest.rows,
      envelopeSha256: opened.envelopeSha256,
      auditSeq: entry.seq,
    };
  } catch (error) {
    // A full or read-only disk (envelope store or staging) is the room's trouble, not the upload's.
    const failure = storageFailureOf(error);
    if (!failure) {
      // The engine's own words (data values removed) help the operator; the client got ours.
      if (error instanceof CleanroomError && error.cause instanceof Error) {
        services.log.warn(
          { collaboration: collaboration.id, dataset: dataset.name, code: error.code, engine: error.cause.message },
          'upload refused',
        );
      }
      throw error;
    }
    const current = previous?.version ?? 0;
    throw storageUnavailable(
      failure,
      `store this upload of "${dataset.name}"`,
      current > 0
        ? `Nothing was changed: version ${current} is still the current one.`
        : 'Nothing was changed: the dataset still has no version.',
      error,
      { dataset: dataset.name, currentVersion: current },
    );
  } finally {
    // A failure to close must not keep the rest from running (the executor's copy would stay staged).
    await tee?.close().catch(() => undefined);
    dataKey?.fill(0);
    if (loaded) await services.engine.discardIncoming(shape, loaded.incomingName).catch(() => undefined);
    if (staged !== undefined) await services.executor.discard(shape, staged).catch(() => undefined);
    await unlink(partialPath).catch(() => undefined);
  }
}

/**
 * Loads a version whose upload recorded it but failed to swap it in, from its envelope; when that
 * fails too, says so truthfully: the version is recorded, queries read the one before until the
 * room's next start loads it.
 */
async function reloadRecorded(
  services: RoomServices,
  collaboration: Collaboration,
  dataset: Dataset,
  version: number,
  swapError: unknown,
): Promise<void> {
  const label = { collaboration: collaboration.id, dataset: dataset.name, version };
  services.log.error({ ...label, reason: (swapError as Error).message }, 'could not swap in a recorded version');
  try {
    await requireStillCurrent(services, collaboration, dataset, version);
    const recorded = (await currentVersion(services.state, collaboration.id, dataset.name))!;
    // loadStoredVersion checks again in the load queue, after its decryption: a deletion may land meanwhile.
    await loadStoredVersion(services, collaboration, dataset, recorded);
    services.log.warn(label, 'loaded a recorded version from its envelope after its swap failed');
  } catch (error) {
    services.log.error({ ...label, reason: (error as Error).message }, 'could not load a recorded version');
    if (services.engine.liveVersion(collaboration.id, dataset.name) !== version)
      await services.executor.discard(tableShape(collaboration.id, dataset), version).catch(() => undefined);
    if (error instanceof ConflictError) throw error;
    throw new UnavailableError(
      'UPLOAD_RECORDED_NOT_LOADED',
      `Version ${version} of "${dataset.name}" is recorded and kept sealed, but the room could not load it: ` +
        `queries read the version before it until the room next starts. Do not upload it again.`,
      { dataset: dataset.name, version },
    );
  }
}
