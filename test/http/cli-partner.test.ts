import { DuckDBInstance } from '@duckdb/node-api';
import { createHash } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSigningKeyPair, publicKeyText } from '../../src/crypto/signing-keys.ts';
import { toBase64 } from '../../src/crypto/bytes.ts';
import { keyFile, runCli } from '../support/cli.ts';
import { startTestRoom, uploadDemoDataset, type TestRoom } from '../support/test-room.ts';

// Issue #13, as a partner meets the CLI: the installed executable (bin/cleanroom.js), exit codes a
// script can branch on, causes instead of "fetch failed", machine formats on stdout with status on
// stderr, files in full precision, conflicting options refused, and a profile instead of repeated flags.
let t: TestRoom;
let analystKey: string;
/** A loopback address nothing listens on (a port just freed), for "room unreachable". */
let closedPort: string;
const SQL =
  'SELECT country, count(DISTINCT email_hash) AS people, avg(purchase_value) AS mean_value ' +
  'FROM advertiser_customers GROUP BY country';

beforeAll(async () => {
  t = await startTestRoom();
  await t.acceptAll();
  await uploadDemoDataset(t, 'advertiser_customers');
  analystKey = await keyFile(t, 'acme-analyst');
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  closedPort = `http://127.0.0.1:${(probe.address() as AddressInfo).port}`;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
}, 60_000);
afterAll(async () => t.close());

const query = (...extra: string[]) =>
  runCli(['query', '--collab', 'demo', '--url', t.baseUrl, '--key', analystKey, ...extra]);

describe('the installed executable', () => {
  it('prints its version and documents its exit codes', async () => {
    const { version } = JSON.parse(await readFile('package.json', 'utf8')) as { version: string };
    expect(await runCli(['--version'])).toMatchObject({ code: 0, stdout: `${version}\n` });
    const help = await runCli(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/Exit codes: 0 ok, 1 failure, 2 usage, 3 refused/);
    expect((await stat('bin/cleanroom.js')).mode & 0o111).not.toBe(0);
    const manifest = JSON.parse(await readFile('package.json', 'utf8')) as { bin: Record<string, string> };
    expect(manifest.bin.cleanroom).toBe('bin/cleanroom.js');
  });

  it('exits 2 for the command line, before any request', async () => {
    expect((await runCli(['nonsense'])).code).toBe(2);
    expect((await query('--sql', SQL, '--bogus')).code).toBe(2);
    const both = await query('--template', 'x', '--sql', SQL);
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/--template.*cannot be used with.*--sql/);
    const neither = await query();
    expect(neither).toMatchObject({ code: 2 });
    expect(neither.stderr).toMatch(/usage: name an approved --template or give --sql/);
    expect((await query('--sql', SQL, '--format', 'parquet')).code).toBe(2);
    expect((await query('--sql', SQL, '--format', 'csv', '--out', join(t.dir, 'x.json'))).code).toBe(2);
  });

  it('names the cause when the room cannot be reached, and exits 5', async () => {
    const run = await runCli(['status', '--collab', 'demo', '--url', closedPort, '--key', analystKey]);
    expect(run.code).toBe(5);
    expect(run.stderr).toContain(`Could not reach the room at ${closedPort}: nothing is listening there`);
    expect(run.stderr).toMatch(/\(ECONNREFUSED\) \(4 attempts\)/);
    expect(run.stderr).not.toMatch(/fetch failed/);
  });

  it('exits 3 when a rule refuses, 4 when the key is not accepted, 6 when the name is unknown', async () => {
    expect((await query('--sql', 'SELECT email_hash FROM advertiser_customers')).code).toBe(3);
    const stranger = generateSigningKeyPair();
    const strangerKey = join(t.dir, 'stranger.key');
    await writeFile(
      strangerKey,
      JSON.stringify({
        type: 'cleanroom-ed25519-secret-key',
        name: 'stranger',
        publicKey: publicKeyText(stranger.publicKey),
        secretKey: toBase64(stranger.secretKey),
      }),
      { mode: 0o600 },
    );
    const auth = await runCli(['query', '--collab', 'demo', '--url', t.baseUrl, '--key', strangerKey, '--sql', SQL]);
    expect(auth.code).toBe(4);
    expect((await query('--template', 'no_such_template')).code).toBe(6);
  });
});

describe('query output', () => {
  it('json on stdout is exactly the answer; csv and ndjson carry the same rows in full precision', async () => {
    const json = await query('--sql', SQL, '--format', 'json');
    expect(json.code).toBe(0);
    const answer = JSON.parse(json.stdout) as { columns: { name: string }[]; rows: (string | number)[][] };
    expect(answer.rows.length).toBeGreaterThan(1);
    // The privacy line is status: on stderr, never mixed into what a pipe reads.
    expect(json.stderr).toMatch(/groups released \(≥ \d+ people each\)/);
    const meanValues = answer.rows.map((r) => r[2] as number);
    expect(meanValues.some((v) => !Number.isInteger(v) && String(v).split('.')[1]!.length > 2)).toBe(true);

    const csv = await query('--sql', SQL, '--format', 'csv');
    expect(csv.code).toBe(0);
    const [header, ...lines] = csv.stdout.trimEnd().split('\n');
    expect(header).toBe('country,people,mean_value');
    expect(lines.map((l) => l.split(','))).toEqual(answer.rows.map((r) => r.map(String)));

    const ndjson = await query('--sql', SQL, '--format', 'ndjson');
    expect(
      ndjson.stdout
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l) as unknown),
    ).toEqual(answer.rows.map((r) => ({ country: r[0], people: r[1], mean_value: r[2] })));
    // A person's table shows six significant digits, not two decimals.
    const table = await query('--sql', SQL);
    expect(table.stdout).toContain(String(Number(meanValues[0]!.toPrecision(6))));
  });

  it('--out writes Parquet (mode 0600) with the same values, and nothing on stdout', async () => {
    const json = JSON.parse((await query('--sql', SQL, '--format', 'json')).stdout) as { rows: unknown[][] };
    const out = join(t.dir, 'result.parquet');
    const written = await query('--sql', SQL, '--out', out);
    expect(written.code).toBe(0);
    expect(written.stdout).toBe('');
    expect(written.stderr).toMatch(new RegExp(`${json.rows.length} rows written to ${out}`));
    expect((await stat(out)).mode & 0o777).toBe(0o600);
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    try {
      const read = await connection.runAndReadAll(`SELECT * FROM read_parquet('${out}') ORDER BY country`);
      const rows = read.getRows().map((r) => r.map((v) => (typeof v === 'bigint' ? Number(v) : v)));
      const expected = [...json.rows].sort((a, b) => String(a[0]).localeCompare(String(b[0])));
      expect(rows).toEqual(expected);
    } finally {
      connection.closeSync();
      instance.closeSync();
    }
    // Read back from Parquet, its rows are the ones the room's signed entry attests.
    expect(await runCli(['verify', out, '--url', t.baseUrl])).toMatchObject({ code: 0 });
  });
});

describe('lists for programs', () => {
  it('budget, audit and template list print json, ndjson or csv on stdout with every field; --json stays', async () => {
    const common = ['--collab', 'demo', '--url', t.baseUrl, '--key', analystKey];
    const json = await runCli(['budget', ...common, '--format', 'json']);
    expect(json).toMatchObject({ code: 0, stderr: '' });
    const budgets = JSON.parse(json.stdout) as Record<string, unknown>[];
    expect(budgets.map((b) => b.dataset).sort()).toEqual(['advertiser_customers', 'publisher_impressions']);
    expect(budgets[0]).toMatchObject({ member: 'acme', epsilonSpent: 0, epsilonLeft: expect.any(Number) });
    expect(JSON.parse((await runCli(['budget', ...common, '--json'])).stdout)).toEqual(budgets);
    const ndjson = (await runCli(['budget', ...common, '--format', 'ndjson'])).stdout.trimEnd().split('\n');
    expect(ndjson.map((l) => JSON.parse(l) as unknown)).toEqual(budgets);
    const csv = (await runCli(['budget', ...common, '--format', 'csv'])).stdout.trimEnd().split('\n');
    expect(csv[0]).toBe(Object.keys(budgets[0]!).join(','));
    expect(csv).toHaveLength(budgets.length + 1);
    expect((await runCli(['budget', ...common, '--format', 'json', '--json'])).code).toBe(2);
    await t.client('acme-analyst').send('POST', '/v1/collaborations/demo/templates', {
      name: 'people_by_country',
      collaboration: 'demo',
      description: 'People per country.',
      sql: 'SELECT country, count(DISTINCT email_hash) AS people FROM advertiser_customers GROUP BY country',
      parameters: {},
    });
    // The audit chain the same way: whole entries per line, the verdict on stderr.
    const audit = await runCli(['audit', ...common, '--format', 'ndjson']);
    expect(audit.code).toBe(0);
    const entries = audit.stdout
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as { seq: number; hash: string });
    expect(entries.map((e) => e.seq)).toEqual(entries.map((_, i) => i + 1));
    expect(audit.stderr).toMatch(/verified/i);
    const auditCsv = (await runCli(['audit', ...common, '--format', 'csv'])).stdout.trimEnd().split('\n');
    expect(auditCsv[0]).toBe('seq,at,actor,action,details,hash');
    expect(auditCsv).toHaveLength(entries.length + 1);
    const templates = await runCli(['template', 'list', ...common, '--format', 'json']);
    expect(JSON.parse(templates.stdout)).toEqual([
      expect.objectContaining({ name: 'people_by_country', runnable: false, awaiting: 'acme' }),
    ]);
  });
});

describe('a result file a partner keeps', () => {
  it('carries a sidecar binding it to the room-signed release; verify finds every kind of tampering', async () => {
    const out = join(t.dir, 'kept.csv');
    expect((await query('--sql', SQL, '--out', out)).code).toBe(0);
    const sidecar = `${out}.provenance.json`;
    const provenance = JSON.parse(await readFile(sidecar, 'utf8')) as {
      rows: unknown[][];
      fileSha256: string;
      audit: { seq: number; details: Record<string, unknown> };
    };
    // The room's own chain holds the same entry: the result's digest, the data versions, the guarantee.
    const { entries } = await t
      .client('acme-officer')
      .send<{ entries: { seq: number; details: Record<string, unknown> }[] }>('GET', '/v1/collaborations/demo/audit');
    const entry = entries.find((e) => e.seq === provenance.audit.seq)!;
    expect(entry.details).toEqual(provenance.audit.details);
    expect(entry.details).toMatchObject({
      dataVersions: { advertiser_customers: 1 },
      resultSha256: expect.stringMatching(/^[0-9a-f]{64}$/),
      minGroupSize: expect.any(Number),
    });

    const verify = (...extra: string[]) => runCli(['verify', out, ...extra]);
    const good = await verify('--url', t.baseUrl);
    expect(good.code).toBe(0);
    expect(good.stdout).toMatch(
      new RegExp(`^verified: ${provenance.rows.length} rows, audit #${provenance.audit.seq} \\(ad hoc SQL\\); ≥ \\d+`),
    );
    expect(good.stdout).toContain('data versions {"advertiser_customers":1}');
    // Without the room's key there is no verdict unless asked for, and then it says what it is worth.
    expect(await verify()).toMatchObject({ code: 2 });
    expect((await verify('--embedded-key')).stdout).toMatch(/^INTACT, ORIGIN NOT CHECKED \(anyone could sign this\)/);
    // Another room's key: the signature fails.
    const otherRoom = toBase64(generateSigningKeyPair().publicKey);
    expect(await verify('--room-key', otherRoom)).toMatchObject({ code: 3 });

    const original = await readFile(out, 'utf8');
    const originalSidecar = await readFile(sidecar, 'utf8');
    const [header, first, ...rest] = original.trimEnd().split('\n');
    const changed = first!.replace(/,(\d+),/, (_, n: string) => `,${Number(n) + 1},`);
    const doctored = `${[header, changed, ...rest].join('\n')}\n`;
    const sha = createHash('sha256').update(doctored).digest('hex');
    const cases: [string, string, RegExp][] = [
      // the file alone changed
      [doctored, originalSidecar, /its bytes changed after it was written/],
      // the file and its recorded hash changed, the rows in the sidecar not
      [doctored, originalSidecar.replace(provenance.fileSha256, sha), /its columns or rows are not the ones/],
    ];
    const rows = structuredClone(provenance.rows);
    (rows[0] as number[])[1] = Number(rows[0]![1]) + 1;
    // file, hash and sidecar rows all changed consistently: the room's signed digest still says no
    cases.push([
      doctored,
      JSON.stringify({ ...JSON.parse(originalSidecar), fileSha256: sha, rows }),
      /the rows are not the ones the audit entry attests/,
    ]);
    for (const [file, side, why] of cases) {
      await writeFile(out, file);
      await writeFile(sidecar, side);
      const run = await verify('--url', t.baseUrl);
      expect(run.code).toBe(3);
      expect(run.stderr).toMatch(/RESULT_NOT_AUTHENTIC/);
      expect(run.stderr).toMatch(why);
    }
  });
});

describe('template propose --file', () => {
  it("takes the repository's own .sql template layout as well as JSON, and names a malformed file", async () => {
    const propose = (file: string) =>
      runCli(['template', 'propose', '--collab', 'demo', '--url', t.baseUrl, '--key', analystKey, '--file', file]);
    const sql = await propose('sql/conversion_lift.sql');
    expect(sql.code).toBe(0);
    expect(sql.stdout).toMatch(/^proposed conversion_lift [0-9a-f]{64}\nneeds approval from: acme, northwind\n$/);
    const status = await t
      .client('acme-officer')
      .send<{ document: { sql: string } }>('GET', '/v1/collaborations/demo/templates/conversion_lift');
    expect(status.document.sql).toMatch(/^SELECT CASE WHEN c\.email_hash IN/);
    const broken = join(t.dir, 'broken.json');
    await writeFile(broken, '{ "name": "x", ');
    const refused = await propose(broken);
    expect(refused.code).toBe(8);
    expect(refused.stderr).toMatch(
      /TEMPLATE_FILE_INVALID: .*broken\.json is not a template file: it must be JSON, or a/,
    );
  });
});

describe('the profile', () => {
  it('stands in for --url, --key and --collab, in a file only its owner reads', async () => {
    const env = { CLEANROOM_CONFIG: join(t.dir, 'profile', 'config.json') };
    for (const [name, value] of [
      ['url', t.baseUrl],
      ['key', analystKey],
      ['collab', 'demo'],
    ] as const)
      expect((await runCli(['config', 'set', name, value], env)).code).toBe(0);
    expect((await stat(env.CLEANROOM_CONFIG)).mode & 0o777).toBe(0o600);
    const run = await runCli(['query', '--sql', SQL, '--format', 'json'], env);
    expect(run.code).toBe(0);
    expect((JSON.parse(run.stdout) as { rows: unknown[] }).rows.length).toBeGreaterThan(1);
    // The environment wins over the profile; a flag wins over both.
    const elsewhere = await runCli(['query', '--sql', SQL], { ...env, CLEANROOM_URL: closedPort });
    expect(elsewhere.code).toBe(5);
    const flagged = await runCli(['query', '--sql', SQL, '--url', t.baseUrl, '--format', 'json'], {
      ...env,
      CLEANROOM_URL: closedPort,
    });
    expect(flagged.code).toBe(0);
    expect((await runCli(['config', 'set', 'colour', 'blue'], env)).code).toBe(2);
  });
});
