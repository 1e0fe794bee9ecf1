import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { fromBase64, toBase64 } from '../crypto/bytes.ts';
import { writeEnvelope } from '../crypto/envelope-writer.ts';
import { sign } from '../crypto/signatures.ts';
import type { DatasetDocument } from '../policy/policy-document.ts';
import { parseHeaderLine } from '../upload/csv-header.ts';
import { CsvRecordCounter } from '../upload/csv-records.ts';
import { manifestSigningBytes, type UploadManifest } from '../upload/manifest.ts';
import type { PrincipalKey } from '../keys/principal-key-file.ts';
import { parquetRowCount } from '../store/local-parquet.ts';
import { InvalidInputError, PayloadTooLargeError } from '../errors/cleanroom-error.ts';
import type { RoomClient } from './room-client.ts';

export interface UploadProgress {
  readonly bytesRead: number;
  readonly totalBytes: number;
}

export interface UploadOptions {
  readonly client: RoomClient;
  readonly key: PrincipalKey;
  readonly collaboration: string;
  readonly dataset: string;
  readonly file: string;
  /** replace the data even with zero rows (signed into the manifest; otherwise the room refuses it) */
  readonly allowEmpty?: boolean;
  readonly onProgress?: (progress: UploadProgress) => void;
}

export interface UploadResult {
  readonly version: number;
  readonly rows: number;
  readonly envelopeSha256: string;
  readonly auditSeq: number;
  readonly plaintextBytes: number;
}

async function firstLine(path: string): Promise<string> {
  const handle = await open(path, 'r');
  try {
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(64 * 1024), 0, 64 * 1024, 0);
    const text = buffer.subarray(0, bytesRead).toString('utf8');
    return text.slice(0, text.includes('\n') ? text.indexOf('\n') : text.length);
  } finally {
    await handle.close();
  }
}

/**
 * Encrypts a local CSV or Parquet file on this machine and streams it to the room in one pass:
 * the plaintext never leaves unencrypted, the data key is sealed to the room's key, and the
 * manifest (version, row count, hashes) is signed by the provider's key in the trailer.
 */
export async function uploadFile(options: UploadOptions): Promise<UploadResult> {
  const { client, key } = options;
  const room = await client.getPublic<{
    sealingPublicKey: string;
    limits: { maxUploadBytes: number; maxParquetBytes?: number };
  }>('/v1/room');
  const roomKey = fromBase64(room.sealingPublicKey, 32);
  if (!roomKey) throw new Error('The room published an invalid sealing key.');
  const { collaboration, dataset } = options;
  const path = `/v1/collaborations/${encodeURIComponent(collaboration)}/datasets/${encodeURIComponent(dataset)}`;
  // Refused now, with the room's rule, rather than after encrypting and streaming the whole file.
  await client.send('POST', `${path}/upload-preflight`);
  const info = await client.send<{
    dataset: DatasetDocument;
    current: { version: number } | null;
    nextVersion?: number;
  }>('GET', path);
  const format = info.dataset.format ?? 'csv';
  if (format === 'csv') {
    const found = parseHeaderLine((await firstLine(options.file)).replace(/^\uFEFF/, ''));
    const expected = info.dataset.columns.map((c) => c.name);
    if (found.join(',') !== expected.join(',')) {
      throw new InvalidInputError(
        'UPLOAD_HEADER_MISMATCH',
        `${options.file}: the header must be exactly the declared columns in order.\n` +
          `  expected: ${expected.join(',')}\n  found:    ${found.join(',')}`,
      );
    }
  }
  const totalBytes = (await stat(options.file)).size;
  // Checked here too so a too-large file is refused before any byte is sent, with a clear reason.
  if (totalBytes > room.limits.maxUploadBytes) {
    throw new PayloadTooLargeError(
      'UPLOAD_TOO_LARGE',
      `${options.file} is ${totalBytes} bytes; this room accepts uploads up to ${room.limits.maxUploadBytes} bytes.`,
    );
  }
  const maxParquetBytes = room.limits.maxParquetBytes;
  if (format === 'parquet' && maxParquetBytes !== undefined && totalBytes > maxParquetBytes) {
    throw new PayloadTooLargeError(
      'UPLOAD_TOO_LARGE',
      `${options.file} is ${totalBytes} bytes; this room accepts Parquet files up to ${maxParquetBytes} bytes ` +
        `(it holds them in memory until the upload authenticates).`,
    );
  }
  const counter = new CsvRecordCounter();
  let bytesRead = 0;
  async function* observed(): AsyncGenerator<Uint8Array> {
    for await (const piece of createReadStream(options.file, { highWaterMark: 1024 * 1024 }) as AsyncIterable<Buffer>) {
      bytesRead += piece.length;
      if (format === 'csv') counter.push(piece);
      options.onProgress?.({ bytesRead, totalBytes });
      yield piece;
    }
  }
  const parquetRows = format === 'parquet' ? await parquetRowCount(options.file) : undefined;
  const envelope = writeEnvelope(observed(), {
    recipientPublicKey: roomKey,
    trailer: (facts) => {
      const manifest: UploadManifest = {
        v: 1,
        collaboration: options.collaboration,
        dataset: options.dataset,
        version: info.nextVersion ?? (info.current?.version ?? 0) + 1,
        format,
        rows: format === 'csv' ? counter.dataRecords : (parquetRows ?? 0),
        plaintextBytes: facts.plaintextBytes,
        plaintextSha256: facts.plaintextSha256,
        envelopeSha256: facts.envelopeSha256,
        createdAt: new Date().toISOString(),
        ...(options.allowEmpty ? { allowEmpty: true } : {}),
      };
      return {
        manifest: { ...manifest },
        signature: toBase64(sign(manifestSigningBytes(manifest), key.secretKey)),
        signer: key.publicKeyText,
      };
    },
  });
  // Pulled: the next piece is read and sealed only when the socket has room for it.
  const receipt = await client.stream<Omit<UploadResult, 'plaintextBytes'>>('PUT', path, envelope);
  return { ...receipt, plaintextBytes: totalBytes };
}
