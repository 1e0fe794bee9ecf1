import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromBase64 } from '../crypto/bytes.ts';
import { readEnvelope } from '../crypto/envelope-reader.ts';
import { openSealed, sealingSecretOfSigningKey } from '../crypto/sealing.ts';
import { verify } from '../crypto/signatures.ts';
import { UnprocessableError } from '../errors/cleanroom-error.ts';
import { extractManifestSigningBytes, type ExtractManifest } from '../extract/extract-manifest.ts';
import type { PrincipalKey } from '../keys/principal-key-file.ts';
import { csvToParquet } from '../store/local-parquet.ts';

/** A sealed extract, opened and checked on the recipient's machine. */
export interface OpenedExtract {
  readonly manifest: ExtractManifest;
  readonly plaintext: Uint8Array;
}

const refused = (message: string) => new UnprocessableError('EXTRACT_NOT_AUTHENTIC', message);

/**
 * Opens a sealed extract with the recipient principal's own key (the data key is sealed to its
 * X25519 form), authenticating every chunk, then checks the trailer: signed by the room's signing
 * key, about this envelope and this plaintext. Nothing is returned unless all of it holds.
 */
export async function openExtract(
  sealed: Uint8Array,
  key: PrincipalKey,
  roomSigningKey: Uint8Array,
): Promise<OpenedExtract> {
  const secret = sealingSecretOfSigningKey(key.secretKey);
  const pieces: Uint8Array[] = [];
  const opened = await readEnvelope(
    (async function* () {
      yield sealed;
    })(),
    {
      dataKey: (header) => {
        const sealedKey = fromBase64(header.sealedKey);
        return sealedKey ? openSealed(secret, sealedKey) : undefined;
      },
      onPlaintext: (chunk) => void pieces.push(...chunk),
    },
  );
  const manifest = opened.trailer.manifest as unknown as ExtractManifest;
  const signature = fromBase64(opened.trailer.signature, 64);
  if (opened.trailer.signer !== Buffer.from(roomSigningKey).toString('base64'))
    throw refused("The extract is not signed by this room's signing key.");
  if (!signature || !verify(extractManifestSigningBytes(manifest), signature, roomSigningKey))
    throw refused("The extract's manifest signature does not verify with the room's signing key.");
  if (manifest.kind !== 'extract' || manifest.envelopeSha256 !== opened.envelopeSha256)
    throw refused("The extract's manifest is not about this envelope.");
  if (manifest.plaintextSha256 !== opened.plaintextSha256 || manifest.plaintextBytes !== opened.plaintextBytes)
    throw refused("The extract's plaintext does not match its signed manifest.");
  return { manifest, plaintext: Buffer.concat(pieces) };
}

/**
 * Writes an opened extract where the recipient asked: as the CSV the room sealed, or (for a Parquet
 * template) converted by a throwaway local DuckDB with the column types the manifest names.
 */
export async function writeExtract(extract: OpenedExtract, out: string): Promise<void> {
  const { manifest, plaintext } = extract;
  if (manifest.format === 'csv') {
    await writeFile(out, plaintext, { mode: 0o600 });
    return;
  }
  const dir = await mkdtemp(join(tmpdir(), 'cleanroom-extract-'));
  try {
    const csv = join(dir, 'extract.csv');
    await writeFile(csv, plaintext, { mode: 0o600 });
    await csvToParquet(csv, manifest.columns, out);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
