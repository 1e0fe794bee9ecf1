import { canonicalJson } from '../crypto/hashing.ts';
import { compileValidator } from '../validation/json-validator.ts';

/** What the provider signs about one upload; it rides in the envelope trailer. */
export interface UploadManifest {
  readonly v: 1;
  readonly collaboration: string;
  readonly dataset: string;
  /** must be exactly one more than the room's current version: a replayed or stale upload fails */
  readonly version: number;
  readonly format: 'csv' | 'parquet';
  /** data records (CSV: excluding the header line) */
  readonly rows: number;
  readonly plaintextBytes: number;
  readonly plaintextSha256: string;
  /** SHA-256 of every envelope byte before the trailer */
  readonly envelopeSha256: string;
  readonly createdAt: string;
  /**
   * The uploader means to replace the data with zero rows; without it an empty upload is refused.
   * Optional and only ever `true`, so manifests signed before it existed stay valid byte for byte.
   */
  readonly allowEmpty?: true;
}

export const validateManifest = compileValidator<UploadManifest>({
  type: 'object',
  additionalProperties: false,
  required: [
    'v',
    'collaboration',
    'dataset',
    'version',
    'format',
    'rows',
    'plaintextBytes',
    'plaintextSha256',
    'envelopeSha256',
    'createdAt',
  ],
  properties: {
    v: { const: 1 },
    collaboration: { type: 'string', maxLength: 63 },
    dataset: { type: 'string', maxLength: 63 },
    version: { type: 'integer', minimum: 1 },
    format: { enum: ['csv', 'parquet'] },
    rows: { type: 'integer', minimum: 0 },
    plaintextBytes: { type: 'integer', minimum: 0 },
    plaintextSha256: { type: 'string', pattern: '^[0-9a-f]{64}$' },
    envelopeSha256: { type: 'string', pattern: '^[0-9a-f]{64}$' },
    createdAt: { type: 'string', format: 'date-time' },
    allowEmpty: { const: true },
  },
});

/** The exact bytes the provider's Ed25519 key signs. */
export const manifestSigningBytes = (manifest: UploadManifest): Uint8Array =>
  new TextEncoder().encode(`cleanroom-manifest-v1\n${canonicalJson(manifest)}`);
