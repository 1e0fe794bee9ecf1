import { canonicalJson } from '../crypto/hashing.ts';

/**
 * What the room signs into a sealed extract's trailer: which extract of which data, sealed to whom,
 * its columns and row count, the hashes of its plaintext and envelope, and the release report. The
 * recipient's CLI checks it against the room's published signing key before it writes a byte out.
 */
export interface ExtractManifest {
  readonly v: 1;
  readonly kind: 'extract';
  readonly collaboration: string;
  readonly extract: string;
  readonly template: string;
  readonly templateHash: string;
  readonly dataset: string;
  readonly dataVersion: number;
  readonly recipient: string;
  /** how the recipient's CLI writes it out: the sealed plaintext is CSV either way */
  readonly format: 'csv' | 'parquet';
  /** whether formula-leading text cells carry a leading apostrophe (CSV for spreadsheets: yes) */
  readonly neutralised: boolean;
  readonly columns: readonly { readonly name: string; readonly type: string }[];
  readonly rows: number;
  readonly plaintextBytes: number;
  readonly plaintextSha256: string;
  readonly envelopeSha256: string;
  readonly createdAt: string;
  readonly report: Readonly<Record<string, unknown>>;
}

/** The exact bytes the room's Ed25519 key signs. */
export const extractManifestSigningBytes = (manifest: ExtractManifest): Uint8Array =>
  new TextEncoder().encode(`cleanroom-extract-manifest-v1\n${canonicalJson(manifest)}`);
