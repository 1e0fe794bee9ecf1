import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, keyFile, runCli } from '../support/cli.ts';
import { customersCsv } from '../support/fixture-csv.ts';
import { startTestRoom, type TestRoom } from '../support/test-room.ts';

let t: TestRoom;
beforeAll(async () => {
  t = await startTestRoom();
  await t.acceptAll();
});
afterAll(async () => t.close());

describe('cleanroom upload, in its own process', () => {
  it('encrypts and streams a file, prints the receipt and exits promptly; the room holds the rows', async () => {
    const file = join(t.dir, 'customers.csv');
    await writeFile(file, customersCsv(20_000));
    const key = await keyFile(t, 'acme-provider');
    const started = performance.now();
    const out = await cli([
      'upload',
      '--collab',
      'demo',
      '--url',
      t.baseUrl,
      '--key',
      key,
      '--dataset',
      'advertiser_customers',
      '--file',
      file,
    ]);
    // tsx start-up is most of this; a kept-alive socket holding the process open would add seconds.
    expect(performance.now() - started).toBeLessThan(15_000);
    expect(out).toMatch(/uploaded advertiser_customers version 1: 20000 rows/);
    const counted = await t.internals.engine.query('SELECT count(*) FROM demo.advertiser_customers');
    expect(Number(counted.rows[0]?.[0])).toBe(20_000);
  }, 30_000);

  it('refuses a header that is not the declared one before sending anything', async () => {
    const file = join(t.dir, 'swapped.csv');
    const [header, ...rows] = customersCsv(10).trimEnd().split('\n');
    const names = header!.split(',');
    [names[0], names[1]] = [names[1]!, names[0]!];
    await writeFile(file, `${[names.join(','), ...rows].join('\n')}\n`);
    const key = await keyFile(t, 'acme-provider');
    await expect(
      cli([
        'upload',
        '--collab',
        'demo',
        '--url',
        t.baseUrl,
        '--key',
        key,
        '--dataset',
        'advertiser_customers',
        '--file',
        file,
      ]),
    ).rejects.toThrow(/exited 8: .*header must be exactly the declared columns/s);
  }, 30_000);

  it("prints the room's refusal of a streamed file and exits non-zero, leaving version 1 in place", async () => {
    const file = join(t.dir, 'bad-value.csv');
    // A valid header and 5,000 good rows, then a purchases value that is not an INTEGER: only the room's load finds it.
    await writeFile(
      file,
      `${customersCsv(5_000).trimEnd()}\n${customersCsv(1, { seed: 7 })
        .trimEnd()
        .split('\n')[1]!
        .replace(/,(\d+),([\d.]+),(\d)$/, ',lots,$2,$3')}\n`,
    );
    const key = await keyFile(t, 'acme-provider');
    await expect(
      cli([
        'upload',
        '--collab',
        'demo',
        '--url',
        t.baseUrl,
        '--key',
        key,
        '--dataset',
        'advertiser_customers',
        '--file',
        file,
      ]),
    ).rejects.toThrow(/exited 3: .*UPLOAD_MALFORMED_DATA/s);
    const counted = await t.internals.engine.query('SELECT count(*) FROM demo.advertiser_customers');
    expect(Number(counted.rows[0]?.[0])).toBe(20_000);
  }, 30_000);

  it('empties a dataset only with --allow-empty: a header-only file is refused otherwise', async () => {
    const file = join(t.dir, 'header-only.csv');
    await writeFile(file, customersCsv(0));
    const key = await keyFile(t, 'acme-provider');
    const args = [
      'upload',
      '--collab',
      'demo',
      '--url',
      t.baseUrl,
      '--key',
      key,
      '--dataset',
      'advertiser_customers',
      '--file',
      file,
    ];
    await expect(cli(args)).rejects.toThrow(/exited 3: .*UPLOAD_EMPTY.*--allow-empty/s);
    const rows = async () =>
      Number((await t.internals.engine.query('SELECT count(*) FROM demo.advertiser_customers')).rows[0]?.[0]);
    expect(await rows()).toBe(20_000);
    expect(await cli([...args, '--allow-empty'])).toMatch(/uploaded advertiser_customers version 2: 0 rows/);
    expect(await rows()).toBe(0);
  }, 30_000);
});

describe('an upload the room would refuse', () => {
  it('is refused before a byte of the file is encrypted or sent: wrong owner, wrong role, undeclared', async () => {
    const file = join(t.dir, 'customers-big.csv');
    await writeFile(file, customersCsv(50_000));
    for (const [principal, dataset, code, exit] of [
      ['northwind-provider', 'advertiser_customers', 'NOT_DATASET_OWNER', 3],
      ['acme-analyst', 'advertiser_customers', 'ROLE_REQUIRED', 3],
      ['acme-provider', 'no_such_dataset', 'DATASET_NOT_FOUND', 6],
    ] as const) {
      const requests: string[] = [];
      const logged = t.server.listeners('request').length;
      const watch = (req: { method?: string; url?: string }) => requests.push(`${req.method} ${req.url}`);
      t.server.on('request', watch);
      try {
        const run = await runCli([
          'upload',
          ...['--collab', 'demo', '--url', t.baseUrl, '--key', await keyFile(t, principal)],
          ...['--dataset', dataset, '--file', file],
        ]);
        expect(run.code).toBe(exit);
        expect(run.stderr).toContain(code);
      } finally {
        t.server.off('request', watch);
      }
      expect(t.server.listeners('request')).toHaveLength(logged);
      // The preflight asked; no PUT carried the file.
      expect(requests).toContain(`POST /v1/collaborations/demo/datasets/${dataset}/upload-preflight`);
      expect(requests.filter((r) => r.startsWith('PUT'))).toEqual([]);
    }
  }, 60_000);
});
