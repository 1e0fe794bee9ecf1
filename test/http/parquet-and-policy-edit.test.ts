import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
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
  await connection.run(`COPY (${select} FROM read_csv('${csvPath}', header = true, columns = {${columns}})) TO '${path}' (FORMAT parquet)`);
  connection.closeSync();
  instance.closeSync();
  return path;
}

const upload = (file: string) => uploadFile({ client: t.client('acme-provider'), key: t.keys['acme-provider']!, collaboration: 'demo', dataset: 'advertiser_customers', file });
const rows = async () => Number((await t.room.engine.query('SELECT count(*) FROM demo.advertiser_customers')).rows[0]?.[0]);

beforeAll(async () => {
  t = await startTestRoom({ edit: (p) => { p.datasets[0]!.format = 'parquet'; } });
  await t.acceptAll();
});
afterAll(async () => t.close());

describe('Parquet uploads', () => {
  it('loads a Parquet file, staged only on /dev/shm and removed after loading', async () => {
    expect(await upload(await parquet('v1', customersCsv(250)))).toMatchObject({ version: 1, rows: 250 });
    expect(await rows()).toBe(250);
    const { readdir } = await import('node:fs/promises');
    expect(await readdir(t.room.staging.directory)).toEqual([]);
  });

  it('refuses malformed Parquet and Parquet without a declared column, keeping version 1', async () => {
    const garbage = join(t.dir, 'garbage.parquet');
    await writeFile(garbage, Buffer.concat([Buffer.from('PAR1'), randomBytes(4000), Buffer.from('PAR1')]));
    // The client cannot read its row count either; seal it anyway, as an attacker would.
    await expect(upload(garbage)).rejects.toThrow();
    const truncated = join(t.dir, 'truncated.parquet');
    await writeFile(truncated, (await readFile(await parquet('whole', customersCsv(300)))).subarray(0, 2000));
    await expect(upload(truncated)).rejects.toThrow();
    expect(await refusal(upload(await parquet('missing', customersCsv(100), { drop: 'purchase_value' })))).toEqual({ status: 422, code: 'UPLOAD_MALFORMED_DATA' });
    // The same malformed files sealed and sent by hand: the room itself refuses them.
    for (const bad of [garbage, truncated]) {
      const envelope = await sealedEnvelope(t, t.keys['acme-provider']!, new Uint8Array(await readFile(bad)), { version: 2, manifest: { format: 'parquet', rows: 300 } });
      expect(await refusal(putEnvelope(t, 'acme-provider', envelope))).toEqual({ status: 422, code: 'UPLOAD_MALFORMED_DATA' });
    }
    expect(await rows()).toBe(250);
  });
});

describe('editing the policy', () => {
  it('needs new signatures: after a restart with a changed file the collaboration is inactive', async () => {
    const file = join(t.dir, 'policies', 'demo.json');
    const policy = JSON.parse(await readFile(file, 'utf8')) as { datasets: { rules: { minGroupSize: number } }[] };
    policy.datasets[0]!.rules.minGroupSize = 20;
    await writeFile(file, JSON.stringify(policy));
    await t.restart();
    const status = await t.client('acme-officer').send<{ status: { active: boolean; awaiting: string[] } }>('GET', '/v1/collaborations/demo');
    expect(status.status).toMatchObject({ active: false, awaiting: ['acme', 'northwind'] });
    expect(await refusal(t.client('acme-analyst').send('POST', '/v1/collaborations/demo/queries', { sql: 'SELECT count(*) FROM advertiser_customers' })))
      .toEqual({ status: 409, code: 'COLLABORATION_INACTIVE' });
    await t.acceptAll();
    expect(await rows()).toBe(250);
  });
});
