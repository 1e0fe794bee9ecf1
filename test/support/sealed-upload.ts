import { fromBase64, toBase64 } from '../../src/crypto/bytes.ts';
import { writeEnvelope } from '../../src/crypto/envelope-writer.ts';
import { sign } from '../../src/crypto/signatures.ts';
import type { PrincipalKey } from '../../src/keys/principal-key-file.ts';
import { CsvRecordCounter } from '../../src/upload/csv-records.ts';
import { manifestSigningBytes, type UploadManifest } from '../../src/upload/manifest.ts';
import type { TestRoom } from './test-room.ts';
import { collect, piecesOf } from './streams.ts';

/** Builds the exact envelope bytes the CLI would send, with hooks to lie in the manifest. */
export async function sealedEnvelope(
  t: Pick<TestRoom, 'client'>,
  key: PrincipalKey,
  content: string | Uint8Array,
  options: {
    version: number;
    dataset?: string;
    manifest?: Partial<UploadManifest>;
    chunkSize?: number;
    /** a signature to send instead of a real one (for manifests no real key could sign) */
    signature?: string;
  },
): Promise<Uint8Array> {
  const roomKey = fromBase64(
    (await t.client('acme-officer').getPublic<{ sealingPublicKey: string }>('/v1/room')).sealingPublicKey,
  ) as Uint8Array;
  const bytes = typeof content === 'string' ? new TextEncoder().encode(content) : content;
  const counter = new CsvRecordCounter();
  counter.push(bytes);
  return collect(
    writeEnvelope(piecesOf(bytes, 1000), {
      recipientPublicKey: roomKey,
      chunkSize: options.chunkSize ?? 1024,
      trailer: (facts) => {
        const manifest: UploadManifest = {
          v: 1,
          collaboration: 'demo',
          dataset: options.dataset ?? 'advertiser_customers',
          version: options.version,
          format: 'csv',
          rows: counter.dataRecords,
          plaintextBytes: facts.plaintextBytes,
          plaintextSha256: facts.plaintextSha256,
          envelopeSha256: facts.envelopeSha256,
          createdAt: new Date().toISOString(),
          ...options.manifest,
        };
        return {
          manifest: { ...manifest },
          signature: options.signature ?? toBase64(sign(manifestSigningBytes(manifest), key.secretKey)),
          signer: key.publicKeyText,
        };
      },
    }),
  );
}

/** PUTs envelope bytes as a signed streamed upload. */
export function putEnvelope(t: TestRoom, principal: string, bytes: Uint8Array, dataset = 'advertiser_customers') {
  return t.client(principal).stream('PUT', `/v1/collaborations/demo/datasets/${dataset}`, new Blob([bytes]).stream());
}
