import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reviewTemplateAs } from '../../src/cli/commands/query-commands.ts';
import { DEMO_EXTRACT } from '../../src/cli/demo/demo-extract.ts';
import { openExtract, writeExtract } from '../../src/client/extract-file.ts';
import { fromBase64, toBase64 } from '../../src/crypto/bytes.ts';
import { sign } from '../../src/crypto/signatures.ts';
import { acceptanceSigningBytes } from '../../src/room/policy-acceptance.ts';
import { cli, keyFile, runCli } from '../support/cli.ts';
import { startTestRoom, uploadDemoDataset, type TestRoom } from '../support/test-room.ts';

let t: TestRoom;
const template = (name: string, format: 'csv' | 'parquet') => ({ ...DEMO_EXTRACT, name, format });

beforeAll(async () => {
  t = await startTestRoom();
  // The room is served over loopback here: the CLI runs in its own process.
  const hash = t.room.collaboration('demo').hash;
  for (const officer of ['acme-officer', 'northwind-officer'])
    await t.client(officer).send('POST', '/v1/collaborations/demo/acceptances', {
      policyHash: hash,
      signature: toBase64(sign(acceptanceSigningBytes('demo', hash), t.keys[officer]!.secretKey)),
    });
  await uploadDemoDataset(t, 'advertiser_customers');
});
afterAll(async () => t.close());

const as = async (principal: string, ...args: string[]) => [
  ...args,
  '--collab',
  'demo',
  '--url',
  t.baseUrl,
  '--key',
  await keyFile(t, principal),
];

describe('a modeler, through the CLI', () => {
  it('proposes; the owner’s officer reviews the dry run and approves; the modeler runs and opens it', async () => {
    const file = join(t.dir, 'extract-template.json');
    await writeFile(file, JSON.stringify(template('customers_csv', 'csv')));
    const proposed = await cli(await as('northwind-analyst', 'extract', 'propose', '--file', file));
    const hash = /proposed customers_csv ([0-9a-f]{64})/.exec(proposed)?.[1];
    expect(hash).toBeDefined();

    const shown = await cli(await as('acme-officer', 'extract', 'show', '--name', 'customers_csv'));
    expect(shown).toContain(`hash     ${hash}`);
    expect(shown).toMatch(/dry run on the current data \(nothing released\)/);
    expect(shown).toMatch(/k: +\d+ people in the smallest class \(rule: at least 10\)/);

    const approved = await cli(
      await as('acme-officer', 'extract', 'approve', '--name', 'customers_csv', '--hash', hash!.slice(0, 12)),
    );
    expect(approved).toContain('→ runnable');

    const out = join(t.dir, 'customers.csv');
    const { code, stdout, stderr } = await runCli(
      await as('northwind-analyst', 'extract', 'run', '--template', 'customers_csv', '--out', out, '--json'),
    );
    expect(code, stderr).toBe(0);
    // stdout is the machine-readable answer alone; progress and status went to stderr.
    const answer = JSON.parse(stdout) as { extract: string; report: { rows: number; k: { achieved: number } } };
    expect(answer.report.k.achieved).toBeGreaterThanOrEqual(10);
    expect(stderr).toMatch(/searching generalisations for customers_csv/);
    expect(stderr).toContain(`wrote ${answer.report.rows} rows (csv)`);
    const csv = (await readFile(out, 'utf8')).trimEnd().split('\n');
    expect(csv[0]).toBe('birth_year,zip_code,signup_date,country,loyalty_tier,purchases,converted');
    expect(csv).toHaveLength(answer.report.rows + 1);
    expect((await stat(out)).mode & 0o077).toBe(0);

    // Fetched again by the recipient: the same rows. Another member's principal cannot fetch or open it.
    const again = join(t.dir, 'again.csv');
    await cli(await as('northwind-analyst', 'extract', 'fetch', '--id', answer.extract, '--out', again));
    expect((await readFile(again, 'utf8')).split('\n').sort()).toEqual(
      (await readFile(out, 'utf8')).split('\n').sort(),
    );
    const refused = await runCli(
      await as('acme-analyst', 'extract', 'fetch', '--id', answer.extract, '--out', join(t.dir, 'stolen.csv')),
    );
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('EXTRACT_NOT_FOUND');
    await expect(stat(join(t.dir, 'stolen.csv'))).rejects.toThrow();
  }, 60_000);

  it('writes a Parquet template’s extract as Parquet with the attributes’ types', async () => {
    await t
      .client('northwind-analyst')
      .send('POST', '/v1/collaborations/demo/extract-templates', template('customers_pq', 'parquet'));
    // In process (the CLI's own functions), to keep the suite fast: the CSV test above spawned the CLI.
    const status = await reviewTemplateAs(
      t.client('acme-officer'),
      t.keys['acme-officer']!,
      'demo',
      'customers_pq',
      'approve',
      (
        await t
          .client('acme-officer')
          .send<{ hash: string }>('GET', '/v1/collaborations/demo/extract-templates/customers_pq')
      ).hash,
      undefined,
      'extract-templates',
    );
    expect(status.runnable).toBe(true);
    const answer = await t
      .client('northwind-analyst')
      .send<{ extract: string }>('POST', '/v1/collaborations/demo/extracts', { template: 'customers_pq' });
    const sealed = await t
      .client('northwind-analyst')
      .receiveBytes(`/v1/collaborations/demo/extracts/${answer.extract}`);
    const out = join(t.dir, 'customers.parquet');
    await writeExtract(
      await openExtract(sealed, t.keys['northwind-analyst']!, fromBase64(t.room.publicKeys().signingPublicKey, 32)!),
      out,
    );
    const { DuckDBInstance } = await import('@duckdb/node-api');
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    try {
      const described = await connection.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet('${out}')`);
      expect(described.getRowsJS().map((r) => [r[0], r[1]])).toEqual([
        ['birth_year', 'VARCHAR'],
        ['zip_code', 'VARCHAR'],
        ['signup_date', 'VARCHAR'],
        ['country', 'VARCHAR'],
        ['loyalty_tier', 'VARCHAR'],
        ['purchases', 'INTEGER'],
        ['converted', 'INTEGER'],
      ]);
      const counted = await connection.runAndReadAll(
        `SELECT sum(c), min(c) FROM (SELECT count(*) AS c FROM read_parquet('${out}') ` +
          'GROUP BY birth_year, zip_code, signup_date, country)',
      );
      const [rows, smallest] = counted.getRowsJS()[0]!.map(Number);
      expect(rows).toBeGreaterThan(4000);
      expect(smallest).toBeGreaterThanOrEqual(10);
    } finally {
      connection.closeSync();
      instance.closeSync();
    }
  }, 60_000);
});
