import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { fromBase64, toBase64 } from '../../src/crypto/bytes.ts';
import { writeEnvelope } from '../../src/crypto/envelope-writer.ts';
import { sign } from '../../src/crypto/signatures.ts';
import type { PrincipalKey } from '../../src/keys/principal-key-file.ts';
import { manifestSigningBytes, type UploadManifest } from '../../src/upload/manifest.ts';
import type { TestRoom } from '../../test/support/test-room.ts';
import { OWNER } from './bench-room.ts';
import { FastRecordCounter } from './fast-record-counter.ts';

/**
 * src/client/upload-file.ts uploadFile for a CSV, step for step (same envelope, manifest, signature,
 * HTTP stream), with only the record counter swapped for FastRecordCounter: a projection of what
 * the upload costs once CsvRecordCounter is fixed. Not a product path.
 */
export async function projectedUpload(t: TestRoom, dataset: string, file: string): Promise<{ rows: number; plaintextBytes: number }> {
  const principal = OWNER[dataset] as string;
  const key = t.keys[principal] as PrincipalKey;
  const client = t.client(principal);
  const room = await client.getPublic<{ sealingPublicKey: string }>('/v1/room');
  const roomKey = fromBase64(room.sealingPublicKey, 32) as Uint8Array;
  const path = `/v1/collaborations/demo/datasets/${dataset}`;
  const info = await client.send<{ current: { version: number } | null }>('GET', path);
  const counter = new FastRecordCounter();
  async function* observed(): AsyncGenerator<Uint8Array> {
    for await (const piece of createReadStream(file, { highWaterMark: 1024 * 1024 }) as AsyncIterable<Buffer>) {
      counter.push(piece);
      yield piece;
    }
  }
  const envelope = writeEnvelope(observed(), {
    roomSealingPublicKey: roomKey,
    trailer: (facts) => {
      const manifest: UploadManifest = {
        v: 1, collaboration: 'demo', dataset, version: (info.current?.version ?? 0) + 1, format: 'csv', rows: counter.dataRecords,
        plaintextBytes: facts.plaintextBytes, plaintextSha256: facts.plaintextSha256, envelopeSha256: facts.envelopeSha256, createdAt: new Date().toISOString(),
      };
      return { manifest: { ...manifest }, signature: toBase64(sign(manifestSigningBytes(manifest), key.secretKey)), signer: key.publicKeyText };
    },
  });
  const receipt = await client.stream<{ rows: number }>('PUT', path, Readable.toWeb(Readable.from(envelope)) as ReadableStream<Uint8Array>);
  return { rows: receipt.rows, plaintextBytes: (await stat(file)).size };
}
