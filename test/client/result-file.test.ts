import { DuckDBInstance } from '@duckdb/node-api';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditEntryHash, auditSigningBytes, type AuditEntry } from '../../src/audit/audit-entry.ts';
import {
  provenancePath,
  verifyResultFile,
  writeProvenance,
  writeResultFile,
  type ReleasedRows,
} from '../../src/client/result-file.ts';
import { toBase64 } from '../../src/crypto/bytes.ts';
import { sign } from '../../src/crypto/signatures.ts';
import { generateSigningKeyPair } from '../../src/crypto/signing-keys.ts';
import { resultDigest } from '../../src/release/query-answer.ts';

// Issue #13 hostile review: `verify` compared rows only, so a Parquet or JSON file with renamed or
// retyped columns, or a JSON file with its privacy block rewritten, still verified. Each forgery
// below keeps the rows and the file hash consistent, so only the new checks can catch it.
const room = generateSigningKeyPair();
const released: ReleasedRows = {
  columns: [
    { name: 'country', type: 'VARCHAR' },
    { name: 'people', type: 'BIGINT' },
    { name: 'mean_value', type: 'DOUBLE' },
  ],
  rows: [
    ['DE', 120, 41.25],
    ['GB', 300, 0.1 + 0.2],
  ],
};
const entry = (): AuditEntry => {
  const unsigned = {
    seq: 7,
    at: '2026-12-03T06:00:00.000Z',
    collaboration: 'demo',
    actor: 'acme-analyst',
    action: 'query.run',
    details: { policyHash: 'p'.repeat(64), resultSha256: resultDigest(released.columns, released.rows) },
    prevHash: '0'.repeat(64),
  };
  const hash = auditEntryHash(unsigned);
  return { ...unsigned, hash, signature: toBase64(sign(auditSigningBytes(hash), room.secretKey)) };
};
const answer = () => ({ dryRun: false, ...released, privacy: { policyHash: 'p'.repeat(64) }, audit: entry() });
let dir: string;
beforeAll(async () => (dir = await mkdtemp(join(tmpdir(), 'cleanroom-result-file-'))));
afterAll(async () => rm(dir, { recursive: true, force: true }));

async function kept(name: string, format: 'csv' | 'json' | 'parquet'): Promise<string> {
  const file = join(dir, name);
  await writeResultFile(file, format, released, answer());
  await writeProvenance(file, format, released, entry(), toBase64(room.publicKey));
  return file;
}
/** Replaces the file and records its new hash in the sidecar, as a forger would. */
async function forge(file: string, bytes: Buffer | string): Promise<void> {
  await writeFile(file, bytes);
  const sidecar = JSON.parse(await readFile(provenancePath(file), 'utf8')) as Record<string, unknown>;
  sidecar.fileSha256 = createHash('sha256').update(bytes).digest('hex');
  await writeFile(provenancePath(file), JSON.stringify(sidecar));
}
const refusedBecause = (file: string) =>
  verifyResultFile(file, room.publicKey).then(
    () => 'verified',
    (e: Error) => e.message,
  );

describe('verify refuses forgeries that keep the rows', () => {
  it('accepts each genuine file', async () => {
    for (const [name, format] of [
      ['a.csv', 'csv'],
      ['a.json', 'json'],
      ['a.parquet', 'parquet'],
    ] as const)
      expect(await verifyResultFile(await kept(name, format), room.publicKey)).toMatchObject({ rows: 2 });
  });

  it('Parquet with a column renamed', async () => {
    const file = await kept('renamed.parquet', 'parquet');
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    const other = join(dir, 'other.parquet');
    await connection.run(
      `COPY (SELECT country AS region, people, mean_value FROM read_parquet('${file}')) TO '${other}' (FORMAT parquet)`,
    );
    connection.closeSync();
    instance.closeSync();
    await forge(file, await readFile(other));
    expect(await refusedBecause(file)).toMatch(/its columns or rows are not the ones its provenance names/);
  });

  it('JSON with a column renamed, the privacy block rewritten, or a duplicate key', async () => {
    const file = await kept('doctored.json', 'json');
    const genuine = JSON.parse(await readFile(file, 'utf8')) as ReturnType<typeof answer>;
    const renamed = { ...genuine, columns: [{ name: 'region', type: 'VARCHAR' }, ...genuine.columns.slice(1)] };
    const loosened = { ...genuine, privacy: { policyHash: 'q'.repeat(64) } };
    const text = `${JSON.stringify(genuine, null, 2)}\n`;
    const duplicated = text.replace('"rows": [', '"rows": [["XX", 1, 1]],\n  "rows": [');
    for (const doctored of [
      `${JSON.stringify(renamed, null, 2)}\n`,
      `${JSON.stringify(loosened, null, 2)}\n`,
      duplicated,
    ]) {
      await forge(file, doctored);
      expect(await refusedBecause(file)).toMatch(/its columns or rows are not the ones its provenance names/);
    }
  });

  it('a file whose name says another format than its provenance', async () => {
    const file = await kept('b.json', 'json');
    const renamed = join(dir, 'b.csv');
    await writeFile(renamed, await readFile(file));
    await writeFile(provenancePath(renamed), await readFile(provenancePath(file)));
    expect(await refusedBecause(renamed)).toMatch(/its name says csv, its provenance json/);
  });
});
