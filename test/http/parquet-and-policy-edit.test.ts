import { randomBytes } from 'node:crypto';
import { watch } from 'node:fs';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uploadFile } from '../../src/client/upload-file.ts';
import { customersCsv } from '../support/fixture-csv.ts';
import { putEnvelope, sealedEnvelope } from '../support/sealed-upload.ts';
import { startTestRoom, type TestRoom } from '../support/test-room.ts';
import { refusal } from '../support/refusal.ts';

let t: TestRoom;

/** Writes a Parquet file from CSV text with DuckDB (typed like the policy), optionally dropping a column. */
async function parquet(name: string, csv: string, options: { drop?: string } = {}): Promise<string> {
  const csvPath = join(t.dir, `${name}.csv`);
  const path = join(t.dir, `${name}.parquet`);
  await writeFile(csvPath, csv);
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  const columns = t.policy.datasets[0]!.columns.map((c) => `'${c.name}': '${c.type}'`).join(', ');
  const select = options.drop ? `SELECT * EXCLUDE (${options.drop})` : 'SELECT *';
  await connection.run(
    `COPY (${select} FROM read_csv('${csvPath}', header = true, columns = {${columns}})) TO '${path}' (FORMAT parquet)`,
  );
  connection.closeSync();
  instance.closeSync();
  return path;
}

const upload = (file: string) =>
  uploadFile({
    client: t.client('acme-provider'),
    key: t.keys['acme-provider']!,
    collaboration: 'demo',
    dataset: 'advertiser_customers',
    file,
  });
const rows = async () =>
  Number((await t.internals.engine.query('SELECT count(*) FROM demo.advertiser_customers')).rows[0]?.[0]);

const MAX_PARQUET_BYTES = 256 * 1024;

/** Names created in the staging directory while `run` runs (inotify: nothing is missed between polls). */
async function stagedDuring(run: () => Promise<unknown>): Promise<string[]> {
  const created: string[] = [];
  const watcher = watch(t.internals.staging.directory, (event, name) => {
    if (event === 'rename' && name) created.push(name);
  });
  try {
    await run();
    await new Promise((resolve) => setTimeout(resolve, 100));
  } finally {
    watcher.close();
  }
  return created;
}

beforeAll(async () => {
  t = await startTestRoom({
    edit: (p) => {
      p.datasets[0]!.format = 'parquet';
    },
    config: { maxParquetBytes: MAX_PARQUET_BYTES },
  });
  await t.acceptAll();
});
afterAll(async () => t.close());

describe('Parquet uploads', () => {
  it('loads a Parquet file, staged only on /dev/shm and removed after loading', async () => {
    expect(await upload(await parquet('v1', customersCsv(250)))).toMatchObject({ version: 1, rows: 250 });
    expect(await rows()).toBe(250);
    expect(await readdir(t.internals.staging.directory)).toEqual([]);
  });

  it('refuses malformed Parquet and Parquet without a declared column, keeping version 1', async () => {
    const garbage = join(t.dir, 'garbage.parquet');
    await writeFile(garbage, Buffer.concat([Buffer.from('PAR1'), randomBytes(4000), Buffer.from('PAR1')]));
    // The client cannot read its row count either; seal it anyway, as an attacker would.
    await expect(upload(garbage)).rejects.toThrow();
    const truncated = join(t.dir, 'truncated.parquet');
    await writeFile(truncated, (await readFile(await parquet('whole', customersCsv(300)))).subarray(0, 2000));
    await expect(upload(truncated)).rejects.toThrow();
    expect(await refusal(upload(await parquet('missing', customersCsv(100), { drop: 'purchase_value' })))).toEqual({
      status: 422,
      code: 'UPLOAD_MALFORMED_DATA',
    });
    // The same malformed files sealed and sent by hand: the room itself refuses them.
    for (const bad of [garbage, truncated]) {
      const envelope = await sealedEnvelope(t, t.keys['acme-provider']!, new Uint8Array(await readFile(bad)), {
        version: 2,
        manifest: { format: 'parquet', rows: 300 },
      });
      expect(await refusal(putEnvelope(t, 'acme-provider', envelope))).toEqual({
        status: 422,
        code: 'UPLOAD_MALFORMED_DATA',
      });
    }
    expect(await rows()).toBe(250);
  });
});

describe('Parquet staging', () => {
  it('writes nothing to the staging directory until the whole envelope, signature and manifest verified', async () => {
    const bytes = new Uint8Array(await readFile(await parquet('staged', customersCsv(400, { seed: 3 }))));
    const sealed = (options: Parameters<typeof sealedEnvelope>[3]) =>
      sealedEnvelope(t, t.keys['acme-provider']!, bytes, options);
    const parquetManifest = { format: 'parquet' as const, rows: 400 };
    const whole = await sealed({ version: 2, manifest: parquetManifest });
    // Every chunk authenticates, but the final chunk and the trailer never come.
    const cut = whole.subarray(0, whole.length - 2000);
    const forged = await sealedEnvelope(t, t.keys['northwind-provider']!, bytes, {
      version: 2,
      manifest: parquetManifest,
    });
    const lying = await sealed({ version: 2, manifest: { ...parquetManifest, plaintextSha256: '0'.repeat(64) } });
    const stale = await sealed({ version: 1, manifest: parquetManifest });
    for (const [envelope, expected] of [
      [cut, { status: 422, code: 'ENVELOPE_TAMPERED' }],
      [forged, { status: 403, code: 'UPLOAD_SIGNER_MISMATCH' }],
      [lying, { status: 422, code: 'UPLOAD_MANIFEST_MISMATCH' }],
      [stale, { status: 409, code: 'UPLOAD_STALE_VERSION' }],
    ] as const) {
      expect(
        await stagedDuring(async () =>
          expect(await refusal(putEnvelope(t, 'acme-provider', envelope))).toEqual(expected),
        ),
      ).toEqual([]);
    }
    expect(await rows()).toBe(250);
    // The watcher does see a staged file when there is one: the same envelope, whole, loads.
    expect((await stagedDuring(() => putEnvelope(t, 'acme-provider', whole))).length).toBeGreaterThan(0);
    expect(await rows()).toBe(400);
    expect(await readdir(t.internals.staging.directory)).toEqual([]);
  });

  it(
    `refuses Parquet over the room's limit for Parquet held in memory (${MAX_PARQUET_BYTES} bytes), in the ` +
      `client and in the room`,
    async () => {
      const big = await parquet('big', customersCsv(20_000, { seed: 4 }));
      expect((await stat(big)).size).toBeGreaterThan(MAX_PARQUET_BYTES);
      await expect(upload(big)).rejects.toThrow(/Parquet files up to 262144 bytes/);
      const envelope = await sealedEnvelope(t, t.keys['acme-provider']!, new Uint8Array(await readFile(big)), {
        version: 3,
        manifest: { format: 'parquet', rows: 20_000 },
      });
      expect(await refusal(putEnvelope(t, 'acme-provider', envelope), { details: true })).toEqual({
        status: 413,
        code: 'UPLOAD_PARQUET_TOO_LARGE',
        details: { maxParquetBytes: MAX_PARQUET_BYTES },
      });
      expect(await rows()).toBe(400);
    },
  );
});

describe('editing the policy', () => {
  it('needs new signatures: after a restart with a changed file the collaboration is inactive', async () => {
    const file = join(t.dir, 'policies', 'demo.json');
    const policy = JSON.parse(await readFile(file, 'utf8')) as { datasets: { rules: { minGroupSize: number } }[] };
    policy.datasets[0]!.rules.minGroupSize = 20;
    await writeFile(file, JSON.stringify(policy));
    await t.restart();
    const status = await t
      .client('acme-officer')
      .send<{ status: { active: boolean; awaiting: string[] } }>('GET', '/v1/collaborations/demo');
    expect(status.status).toMatchObject({ active: false, awaiting: ['acme', 'northwind'] });
    expect(
      await refusal(
        t
          .client('acme-analyst')
          .send('POST', '/v1/collaborations/demo/queries', { sql: 'SELECT count(*) FROM advertiser_customers' }),
      ),
    ).toEqual({ status: 409, code: 'COLLABORATION_INACTIVE' });
    await t.acceptAll();
    expect(await rows()).toBe(400);
  });
});
