import { mkdir, open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { fromBase64, toBase64 } from '../crypto/bytes.ts';
import type { EnvelopeHeader } from '../crypto/envelope-format.ts';
import { openSealed, randomKey, unwrapKey, wrapKey } from '../crypto/sealing.ts';
import { ConflictError, ForbiddenError, NotFoundError, PayloadTooLargeError } from '../errors/cleanroom-error.ts';
import type { Collaboration, Principal } from '../policy/collaboration.ts';
import { decryptIntoEngine, tableShape } from '../upload/decrypt-into-engine.ts';
import type { UploadManifest } from '../upload/manifest.ts';
import { verifyUpload } from '../upload/verify-upload.ts';
import { currentVersion, ensureStorageKey, recordVersion } from './dataset-registry.ts';
import { requireActive } from './policy-acceptance.ts';
import type { Room } from './room.ts';

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
    if (total > maxBytes) throw new PayloadTooLargeError('UPLOAD_TOO_LARGE', `The upload is larger than this room's limit of ${maxBytes} bytes.`, { maxBytes });
    yield piece;
  }
}

/** Ciphertext is written to disk in batches of about this size: one write per MiB, not per network piece. */
const TEE_BATCH_BYTES = 1024 * 1024;

async function writeFully(handle: FileHandle, pieces: readonly Uint8Array[]): Promise<void> {
  const total = pieces.reduce((sum, piece) => sum + piece.length, 0);
  let { bytesWritten } = await handle.writev(pieces);
  if (bytesWritten === total) return;
  const rest = Buffer.concat(pieces);
  while (bytesWritten < total) bytesWritten += (await handle.write(rest, bytesWritten)).bytesWritten;
}

/**
 * Copies the ciphertext to disk as it passes: the store of record is the envelope as signed.
 * Network pieces (~64 KB) are gathered into 1 MiB writev calls with one write in flight, so disk
 * writes cost a thread-pool round trip per MiB and a failed write fails the upload at the next batch.
 */
async function* teeToFile(source: AsyncIterable<Uint8Array>, path: string): AsyncGenerator<Uint8Array> {
  const handle = await open(path, 'wx', 0o600);
  let batch: Uint8Array[] = [];
  let batchBytes = 0;
  let inFlight: Promise<void> | undefined;
  const flush = async () => {
    await inFlight;
    const pieces = batch;
    batch = [];
    batchBytes = 0;
    inFlight = pieces.length > 0 ? writeFully(handle, pieces) : undefined;
    inFlight?.catch(() => undefined);
  };
  try {
    for await (const piece of source) {
      batch.push(piece);
      batchBytes += piece.length;
      if (batchBytes >= TEE_BATCH_BYTES) await flush();
      yield piece;
    }
    await flush();
    await inFlight;
  } finally {
    await inFlight?.catch(() => undefined);
    await handle.close();
  }
}

async function fsyncFile(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
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
 * After a refusal mid-stream, reads (and discards) a bounded remainder of the body so the client
 * receives the error instead of a reset connection; a larger remainder is cut off.
 */
export async function drainRemainder(body: AsyncIterable<Uint8Array>, maxBytes = 64 * 1024 * 1024): Promise<void> {
  let drained = 0;
  try {
    for await (const piece of body) {
      drained += piece.length;
      if (drained > maxBytes) break;
    }
  } catch {
    // the client went away; nothing left to drain
  }
}

export async function uploadDataset(room: Room, collaboration: Collaboration, uploader: Principal, datasetName: string, body: AsyncIterable<Uint8Array>): Promise<UploadReceipt> {
  const dataset = collaboration.datasets.get(datasetName);
  if (!dataset) throw new NotFoundError('DATASET_NOT_FOUND', `Collaboration "${collaboration.id}" declares no dataset "${datasetName}".`, { dataset: datasetName });
  room.requireRole(uploader, 'provider', 'upload data');
  if (uploader.memberId !== dataset.owner) {
    throw new ForbiddenError('NOT_DATASET_OWNER',
      `Only a provider of "${dataset.owner}", the dataset's owner, may upload "${dataset.name}".`, { owner: dataset.owner, member: uploader.memberId });
  }
  await requireActive(room, collaboration);

  const previous = await currentVersion(room.state, collaboration.id, dataset.name);
  const fileName = `${collaboration.id}/${dataset.name}.${Date.now()}-${randomBytes(6).toString('hex')}.env`;
  const finalPath = room.envelopePath(fileName);
  const partialPath = `${finalPath}.partial`;
  await mkdir(room.envelopePath(collaboration.id), { recursive: true, mode: 0o700 });

  let dataKey: Uint8Array | undefined;
  const unseal = (header: EnvelopeHeader) => {
    dataKey = openSealed(room.keys.sealing.secretKey, fromBase64(header.sealedKey) ?? new Uint8Array());
    return dataKey ? Uint8Array.from(dataKey) : undefined;
  };
  const shape = tableShape(collaboration.id, dataset);
  let loaded: Awaited<ReturnType<typeof decryptIntoEngine>> | undefined;
  try {
    loaded = await decryptIntoEngine(teeToFile(limited(body, room.config.maxUploadBytes), partialPath), unseal, shape, dataset.format, room.engine, room.staging);
    const manifest: UploadManifest = verifyUpload(loaded.opened, {
      collaborationId: collaboration.id, dataset, uploader, currentVersion: previous?.version ?? 0, loadedRows: loaded.rows,
    });
    await fsyncFile(partialPath);
    await rename(partialPath, finalPath);
    const opened = loaded.opened;
    const entry = await room.state.write(async (tx) => {
      // A concurrent upload of the same version may have committed while this one streamed.
      const [latest] = await tx.all('SELECT max(version) AS v FROM dataset_versions WHERE collaboration = $1 AND dataset = $2', [collaboration.id, dataset.name]);
      if (Number(latest?.v ?? 0) !== manifest.version - 1) {
        throw new ConflictError('UPLOAD_STALE_VERSION', `Version ${manifest.version} of "${dataset.name}" was committed by another upload first.`, { manifestVersion: manifest.version });
      }
      const storageKeyText = await ensureStorageKey(tx, collaboration.id, dataset.name, toBase64(wrapKey(room.keys.masterKey, randomKey())));
      const storageKey = unwrapKey(room.keys.masterKey, fromBase64(storageKeyText) ?? new Uint8Array()) as Uint8Array;
      await recordVersion(tx, {
        collaboration: collaboration.id, dataset: dataset.name, version: manifest.version, envelopeFile: fileName,
        envelopeSha256: opened.envelopeSha256, manifest: JSON.stringify(manifest), signature: opened.trailer.signature,
        signer: uploader.id, format: manifest.format, rows: manifest.rows, plaintextBytes: manifest.plaintextBytes,
        wrappedDataKey: toBase64(wrapKey(storageKey, dataKey as Uint8Array)), uploadedAt: new Date().toISOString(),
      });
      storageKey.fill(0);
      return room.audit(tx, {
        collaboration: collaboration.id, actor: uploader.id, action: 'dataset.uploaded',
        details: { dataset: dataset.name, version: manifest.version, rows: manifest.rows, envelopeSha256: opened.envelopeSha256, manifestSignature: opened.trailer.signature },
      });
    }).catch(async (error: unknown) => {
      await unlink(finalPath).catch(() => undefined);
      throw error;
    });
    await room.engine.commitIncoming(shape, loaded.incomingName);
    loaded = undefined;
    room.log.info({ collaboration: collaboration.id, dataset: dataset.name, version: manifest.version, rows: manifest.rows }, 'dataset version committed');
    return { collaboration: collaboration.id, dataset: dataset.name, version: manifest.version, rows: manifest.rows, envelopeSha256: opened.envelopeSha256, auditSeq: entry.seq };
  } finally {
    dataKey?.fill(0);
    if (loaded) await room.engine.discardIncoming(shape, loaded.incomingName).catch(() => undefined);
    await unlink(partialPath).catch(() => undefined);
  }
}
