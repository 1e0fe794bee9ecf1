import { fromBase64 } from '../crypto/bytes.ts';
import type { OpenedEnvelope } from '../crypto/envelope-reader.ts';
import { verify } from '../crypto/signatures.ts';
import { ConflictError, ForbiddenError, UnprocessableError } from '../errors/cleanroom-error.ts';
import type { Dataset, Principal } from '../policy/collaboration.ts';
import { documentRefused } from '../errors/refused-error.ts';
import { manifestSigningBytes, validateManifest, type UploadManifest } from './manifest.ts';

export interface UploadExpectation {
  readonly collaborationId: string;
  readonly dataset: Dataset;
  /** the principal whose key signed the HTTP request */
  readonly uploader: Principal;
  readonly currentVersion: number;
}

/**
 * Checks the envelope's signed trailer against what the room knows. Pure: every fact is passed in.
 * The manifest must be signed by the same provider key that signed the request, name this
 * collaboration, dataset, format and the next version, and agree with the bytes that arrived.
 * Everything here is known before the data is loaded, so it runs before anything is staged;
 * the row count, which only the load can tell, is `verifyLoadedRows`.
 */
export function verifyUpload(opened: OpenedEnvelope, expected: UploadExpectation): UploadManifest {
  const checked = validateManifest(opened.trailer.manifest);
  if (!checked.ok) {
    throw documentRefused('UPLOAD_MANIFEST_INVALID', 'The upload manifest is invalid:', checked.diagnostics);
  }
  const manifest = checked.value;
  const signature = fromBase64(opened.trailer.signature, 64);
  if (opened.trailer.signer !== expected.uploader.publicKeyText) {
    throw new ForbiddenError(
      'UPLOAD_SIGNER_MISMATCH',
      'The manifest must be signed by the same principal key that signed the request.',
    );
  }
  if (!signature || !verify(manifestSigningBytes(manifest), signature, expected.uploader.publicKey)) {
    throw new UnprocessableError(
      'UPLOAD_BAD_SIGNATURE',
      "The manifest signature does not verify with the uploader's key.",
    );
  }
  const mismatches: Record<string, { manifest: unknown; actual: unknown }> = {};
  const compare = (field: string, stated: unknown, actual: unknown) => {
    if (stated !== actual) mismatches[field] = { manifest: stated, actual };
  };
  compare('collaboration', manifest.collaboration, expected.collaborationId);
  compare('dataset', manifest.dataset, expected.dataset.name);
  compare('format', manifest.format, expected.dataset.format);
  compare('envelopeSha256', manifest.envelopeSha256, opened.envelopeSha256);
  compare('plaintextSha256', manifest.plaintextSha256, opened.plaintextSha256);
  compare('plaintextBytes', manifest.plaintextBytes, opened.plaintextBytes);
  if (Object.keys(mismatches).length > 0) {
    throw new UnprocessableError(
      'UPLOAD_MANIFEST_MISMATCH',
      'The signed manifest does not describe the data that arrived.',
      { mismatches },
    );
  }
  if (manifest.version !== expected.currentVersion + 1) {
    throw new ConflictError(
      'UPLOAD_STALE_VERSION',
      `This upload is for version ${manifest.version}, but the next version is ${expected.currentVersion + 1}: ` +
        `it is a replay or was made against an old state.`,
      {
        manifestVersion: manifest.version,
        currentVersion: expected.currentVersion,
      },
    );
  }
  return manifest;
}

/**
 * The signed row count against what DuckDB loaded, and no silent emptying: a header-only CSV (or
 * an empty Parquet file) would replace the data with nothing unless the uploader signed that intent.
 */
export function verifyLoadedRows(manifest: UploadManifest, loadedRows: number): void {
  if (manifest.rows !== loadedRows) {
    throw new UnprocessableError(
      'UPLOAD_MANIFEST_MISMATCH',
      'The signed manifest does not describe the data that arrived.',
      {
        mismatches: { rows: { manifest: manifest.rows, actual: loadedRows } },
      },
    );
  }
  if (loadedRows === 0 && manifest.allowEmpty !== true) {
    throw new UnprocessableError(
      'UPLOAD_EMPTY',
      'The upload holds no data rows, so it would replace the dataset with an empty table; ' +
        'upload it with --allow-empty (signed into the manifest) if that is intended.',
      { rows: 0 },
    );
  }
}
