import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createClient, type ClickHouseClient } from '@clickhouse/client';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { RoomRequestError } from '../../src/client/room-client.ts';
import { review } from '../support/approve.ts';
import { startChdbEndpoint, type ChdbEndpoint } from '../support/chdb-endpoint.ts';
import { seededRandomSource } from '../support/seeded-random-source.ts';
import { startTestRoom, uploadDemoDataset, type PolicyDraft, type TestRoom } from '../support/test-room.ts';

/**
 * The executor boundary in a running room (issue #15): one room on the embedded engine, one with
 * CLEANROOM_EXECUTOR=clickhouse against chdb behind the loopback endpoint, the same policy, fixtures
 * and seeded randomness. Every answer the analysts get must be the same from both; the ClickHouse
 * room must really have run them there; uploads, new versions, restarts and deletions must keep
 * ClickHouse's copy in step with the room's committed versions.
 */

const SEED = 15_2026;
const TEMPLATES = [
  { template: 'audience_overlap_by_segment', params: { campaign: 'holiday' } },
  { template: 'reach_and_frequency', params: { from: '2025-10-01', to: '2025-12-31' } },
  { template: 'conversion_lift', params: { campaign: 'spring_sale' } },
  { template: 'purchase_value_by_segment', params: {} },
] as const;
const goldens = (
  JSON.parse(await readFile('test/query/golden/expected.json', 'utf8')) as {
    name: string;
    sql: string;
    mode?: 'dp';
    rewritten?: string;
  }[]
).filter((c) => c.rewritten !== undefined);

/** Both rooms declare the count columns BIGINT, which ClickHouse stores as Int128 (its Int64 sums wrap). */
const bigintCounts = (policy: PolicyDraft) => {
  for (const dataset of policy.datasets) {
    for (const column of dataset.columns) if (['purchases', 'clicks'].includes(column.name)) column.type = 'BIGINT';
    // A BIGINT dimension, for round of an integer (ClickHouse stores it as Int128).
    for (const column of dataset.columns)
      if (column.name === 'birth_year') Object.assign(column, { type: 'BIGINT', class: 'dimension' });
    // median: of a BIGINT (an Int128 on ClickHouse), a DOUBLE and a DATE.
    dataset.rules.aggregates = [...dataset.rules.aggregates, 'median'];
  }
};

let endpoint: ChdbEndpoint;
/** the encrypted disk's underlying directory (docs/clickhouse.md's storage policy, a fresh key) */
let disk: string;
let side: ClickHouseClient;
let duck: TestRoom;
let house: TestRoom;

async function prepare(t: TestRoom): Promise<void> {
  await t.acceptAll();
  for (const dataset of ['advertiser_customers', 'publisher_impressions']) await uploadDemoDataset(t, dataset);
  for (const { template } of TEMPLATES) {
    const status = await t
      .client('acme-analyst')
      .send<{ requiredMembers: string[] }>('GET', `/v1/collaborations/demo/templates/${template}`);
    for (const member of status.requiredMembers) await review(t, `${member}-officer`, template);
  }
}

beforeAll(async () => {
  // A loader and a reader, as docs/clickhouse.md deploys them: the endpoint refuses the reader any write.
  disk = await mkdtemp(join(tmpdir(), 'cleanroom-chdb-disk-'));
  const config = join(disk, 'config.xml');
  await writeFile(
    config,
    `<clickhouse><storage_configuration><disks>
      <plain_disk><type>local</type><path>${disk}/plain/</path></plain_disk>
      <cleanroom_encrypted><type>encrypted</type><disk>plain_disk</disk><path>encrypted/</path>
        <algorithm>AES_256_CTR</algorithm><key_hex>${randomBytes(32).toString('hex')}</key_hex></cleanroom_encrypted>
    </disks><policies>
      <cleanroom><volumes><main><disk>cleanroom_encrypted</disk></main></volumes></cleanroom>
    </policies></storage_configuration></clickhouse>`,
  );
  endpoint = await startChdbEndpoint({ reader: 'cleanroom_reader', configFile: config });
  side = createClient({ url: endpoint.url });
  duck = await startTestRoom({
    config: { templatesDirectory: resolve('sql') },
    randomSource: seededRandomSource(SEED),
    edit: bigintCounts,
  });
  house = await startTestRoom({
    edit: bigintCounts,
    config: {
      templatesDirectory: resolve('sql'),
      executor: {
        kind: 'clickhouse',
        url: endpoint.url,
        username: 'cleanroom_loader',
        reader: { username: 'cleanroom_reader' },
        database: 'cleanroom',
        storagePolicy: 'cleanroom',
      },
    },
    randomSource: seededRandomSource(SEED),
  });
  await prepare(duck);
  await prepare(house);
}, 120_000);
afterAll(async () => {
  await duck?.close();
  await house?.close();
  await side?.close();
  await endpoint?.close();
  await rm(disk, { recursive: true, force: true });
});

/**
 * What an analyst reads, without what differs between two rooms by construction: the audit entry
 * (time, signature) and the policy hash (each room's policy holds its own fresh keys).
 */
async function ask(t: TestRoom, body: object, analyst = 'acme-analyst'): Promise<unknown> {
  try {
    const answer = await t
      .client(analyst)
      .send<Record<string, unknown>>('POST', '/v1/collaborations/demo/queries', body);
    const { audit: _audit, auditSeq: _seq, ...rest } = answer;
    // A SUM of doubles depends on the order of its additions, which differs between engines (and
    // between DuckDB runs on more threads): fractions compare to 12 significant digits.
    return JSON.parse(JSON.stringify(rest).replaceAll(/"policyHash":"[0-9a-f]{64}"/g, '"policyHash":"…"'), (_k, v) =>
      typeof v === 'number' && !Number.isInteger(v) ? Number(v.toPrecision(12)) : v,
    );
  } catch (error) {
    if (error instanceof RoomRequestError) return { refused: error.status, code: error.code };
    throw error;
  }
}

/** An answer whose rows may come in any order, with its rows sorted. */
const anyOrder = (answer: unknown): unknown => {
  const rows = (answer as { rows?: unknown[] }).rows;
  return rows
    ? { ...(answer as object), rows: [...rows].sort((x, y) => (JSON.stringify(x) < JSON.stringify(y) ? -1 : 1)) }
    : answer;
};

const tables = async (): Promise<string[]> => {
  const listed = await side.query({
    query: "SELECT name FROM system.tables WHERE database = 'cleanroom' ORDER BY name",
    format: 'JSONEachRow',
  });
  return ((await listed.json()) as { name: string }[]).map((r) => r.name);
};

describe('a room whose executor is ClickHouse', () => {
  it('holds a copy of each committed version, and only that', async () => {
    expect(await tables()).toEqual(['demo__advertiser_customers__v1', 'demo__publisher_impressions__v1']);
  });

  it.each(TEMPLATES)('answers $template as the embedded room does, thresholded and in DP mode', async (run) => {
    const before = endpoint.received.length;
    const [a, b] = [await ask(duck, run), await ask(house, run)];
    expect(b).toEqual(a);
    expect(a).toMatchObject({ dryRun: false });
    // It ran there: the endpoint saw the template's query, naming the committed version's table.
    expect(endpoint.received.slice(before).some((sql) => sql.includes('demo__'))).toBe(true);
    const dp = { ...run, dp: { epsilon: 0.5 } };
    const [c, d] = [await ask(duck, dp, 'northwind-analyst'), await ask(house, dp, 'northwind-analyst')];
    expect(d).toEqual(c);
    expect(c).toMatchObject({ privacy: { mode: 'dp' } });
  });

  it('answers every golden query as the embedded room does (threshold and DP)', async () => {
    let answered = 0;
    for (const g of goldens) {
      const body = { sql: g.sql, ...(g.mode === 'dp' ? { dp: { epsilon: 0.2 } } : {}) };
      const [a, b] = [await ask(duck, body), await ask(house, body)];
      // Without ORDER BY an engine answers in any order (DuckDB's varies with its threads too).
      const ordered = /\border\s+by\b/i.test(g.sql) ? (x: unknown) => x : anyOrder;
      expect(ordered(b), g.name).toEqual(ordered(a));
      if (!('refused' in (a as object))) answered += 1;
    }
    expect(answered).toBeGreaterThan(10);
  }, 60_000);

  it('answers the review attacks as the embedded room does (alias shadowing a column, ORDER BY 2)', async () => {
    const target = (await readFile('fixtures/advertiser_customers.csv', 'utf8')).split('\n')[1]?.split(',')[0];
    expect(target).toMatch(/^[0-9a-f]{64}$/);
    for (const sql of [
      // ClickHouse's default would have read `country` as the aliased email_hash: one person's value out.
      `SELECT a, sum(v) AS s, count(*) AS n FROM (SELECT email_hash AS country, age_band AS a, purchase_value AS v ` +
        `FROM advertiser_customers WHERE country <> '${target}') t GROUP BY a ORDER BY a`,
      'SELECT country, count(*) AS n FROM advertiser_customers GROUP BY 1 ORDER BY 2 DESC LIMIT 2',
    ]) {
      const [a, b] = [await ask(duck, { sql }), await ask(house, { sql })];
      expect(a).toMatchObject({ dryRun: false });
      expect(b, sql).toEqual(a);
    }
  });

  it('reads a new version once it is committed, and drops the one it replaced', async () => {
    await uploadDemoDataset(duck, 'publisher_impressions');
    await uploadDemoDataset(house, 'publisher_impressions');
    expect(await tables()).toEqual(['demo__advertiser_customers__v1', 'demo__publisher_impressions__v2']);
    const run = TEMPLATES[1];
    expect(await ask(house, run)).toEqual(await ask(duck, run));
  });

  it('keeps a whole copy of a version when it restarts, and copies again one cut short or dropped', async () => {
    const inserts = () => endpoint.received.filter((q) => /^\s*INSERT\b/i.test(q)).length;
    const before = inserts();
    await house.restart();
    // Both versions were whole: kept, nothing copied again.
    expect(inserts()).toBe(before);
    expect(await tables()).toEqual(['demo__advertiser_customers__v1', 'demo__publisher_impressions__v2']);
    // One dropped, one missing a row, one stamped by another upload: each copied again.
    await side.command({ query: 'DROP TABLE cleanroom.demo__advertiser_customers__v1 SYNC' });
    await side.command({
      query: 'DELETE FROM cleanroom.demo__publisher_impressions__v2 WHERE rowNumberInAllBlocks() = 0',
    });
    await house.restart();
    expect(inserts()).toBe(before + 2);
    await side.command({
      query: "ALTER TABLE cleanroom.demo__publisher_impressions__v2 MODIFY COMMENT 'cleanroom copy of another'",
    });
    await house.restart();
    expect(inserts()).toBe(before + 3);
    expect(await tables()).toEqual(['demo__advertiser_customers__v1', 'demo__publisher_impressions__v2']);
    for (const run of TEMPLATES) expect(await ask(house, run)).toEqual(await ask(duck, run));
  }, 60_000);

  it('refuses an upload it cannot copy, and keeps the committed version', async () => {
    // The room's database gone (an operator's mistake): the copy of v3 fails before anything commits.
    await side.command({ query: 'DROP DATABASE cleanroom SYNC' });
    const failed = await uploadDemoDataset(house, 'publisher_impressions').catch((error: unknown) => error);
    expect(failed).toMatchObject({ status: 503, code: 'EXECUTOR_UNAVAILABLE' });
    const status = await house
      .client('northwind-provider')
      .send<{ current: { version: number } }>('GET', '/v1/collaborations/demo/datasets/publisher_impressions');
    expect(status.current.version).toBe(2);
    await side.command({ query: 'CREATE DATABASE cleanroom' });
    await house.restart();
    expect(await tables()).toEqual(['demo__advertiser_customers__v1', 'demo__publisher_impressions__v2']);
  }, 60_000);

  it('refuses a version with a date ClickHouse would clamp, naming the column, and keeps the current one', async () => {
    const lines = (await readFile('fixtures/advertiser_customers.csv', 'utf8')).trimEnd().split('\n');
    // signup_date is the 6th column: two rows far in the future, which Date32 would store as 2299-12-31.
    const edited = lines.map((line, i) =>
      i === 1 || i === 2 ? line.replace(/,\d{4}-\d\d-\d\d,/, ',2350-05-05,') : line,
    );
    const file = join(duck.dir, 'future-dates.csv');
    await writeFile(file, `${edited.join('\n')}\n`);
    const refused = await uploadDemoDataset(house, 'advertiser_customers', file).catch((error: unknown) => error);
    expect(refused).toMatchObject({
      status: 422,
      code: 'EXECUTOR_VALUE_OUT_OF_RANGE',
      details: { columns: [{ column: 'signup_date', outsideRange: 2 }] },
    });
    expect(JSON.stringify(refused)).not.toContain('2350');
    expect(await tables()).toEqual(['demo__advertiser_customers__v1', 'demo__publisher_impressions__v2']);
  });

  it('drops a copy of no committed version at start and in the hourly sweep', async () => {
    const stray = (name: string) =>
      side.command({ query: `CREATE TABLE cleanroom.${name} (x Int32) ENGINE = MergeTree ORDER BY tuple()` });
    await stray('demo__publisher_impressions__v9');
    await house.restart();
    expect(await tables()).toEqual(['demo__advertiser_customers__v1', 'demo__publisher_impressions__v2']);
    await stray('gone__dataset__v1');
    await house.room.sweepRetention();
    expect(await tables()).toEqual(['demo__advertiser_customers__v1', 'demo__publisher_impressions__v2']);
  }, 60_000);

  it('drops every copy of a deleted dataset, retrying a drop that failed; its queries are refused', async () => {
    // The first drop fails on the server: the deletion has committed, so it answers success, and
    // the copy goes at the next sweep.
    endpoint.failNext(/^DROP TABLE/);
    await house
      .client('northwind-provider')
      .send('DELETE', '/v1/collaborations/demo/datasets/publisher_impressions', { reason: 'test' });
    expect(await ask(house, TEMPLATES[1])).toEqual({ refused: 409, code: 'DATASET_NOT_LOADED' });
    expect(await tables()).toEqual(['demo__advertiser_customers__v1', 'demo__publisher_impressions__v2']);
    await house.room.sweepRetention();
    expect(await tables()).toEqual(['demo__advertiser_customers__v1']);
  });

  it('sums a BIGINT column past 2^63 exactly, as DuckDB does (stored as Int128)', async () => {
    const lines = (await readFile('fixtures/advertiser_customers.csv', 'utf8')).trimEnd().split('\n');
    // purchases (9th column) at 4e18 for every customer: each country's sum passes 2^63 ≈ 9.2e18.
    const edited = lines.map((line, i) => {
      if (i === 0) return line;
      const cells = line.split(',');
      cells[8] = '4000000000000000000';
      return cells.join(',');
    });
    const file = join(duck.dir, 'big-purchases.csv');
    await writeFile(file, `${edited.join('\n')}\n`);
    await uploadDemoDataset(duck, 'advertiser_customers', file);
    await uploadDemoDataset(house, 'advertiser_customers', file);
    const sql =
      'SELECT country, sum(purchases) AS p, count(*) AS n FROM advertiser_customers GROUP BY country ORDER BY 1';
    const [a, b] = [await ask(duck, { sql }), await ask(house, { sql })];
    expect(b).toEqual(a);
    const rows = (a as { rows: [string, string, number][] }).rows;
    expect(rows.length).toBeGreaterThan(0);
    for (const [, p, n] of rows) expect(BigInt(p)).toBe(4_000_000_000_000_000_000n * BigInt(n));
  });

  it('second review: a dominant BIGINT contributor, NOT IN over a set with a NULL: as on DuckDB', async () => {
    const edit = async (dataset: string, change: (cells: string[], i: number) => void) => {
      const lines = (await readFile(`fixtures/${dataset}.csv`, 'utf8')).trimEnd().split('\n');
      const edited = lines.map((line, i) => {
        if (i === 0) return line;
        const cells = line.split(',');
        change(cells, i);
        return cells.join(',');
      });
      const file = join(duck.dir, `${dataset}-review.csv`);
      await writeFile(file, `${edited.join('\n')}\n`);
      for (const room of [duck, house]) await uploadDemoDataset(room, dataset, file);
    };
    // One customer's purchases past 2^53 (no double holds it exactly); some countries missing.
    await edit('advertiser_customers', (cells, i) => {
      cells[8] = i === 7 ? '1000000000000000001' : String(i % 5);
      if (i % 9 === 0) cells[3] = '';
    });
    // Some impressions without an email or a segment: NULLs inside the IN sets below.
    await edit('publisher_impressions', (cells, i) => {
      if (i % 17 === 0) cells[0] = '';
      if (i % 11 === 0) cells[4] = '';
    });
    const notIn = "email_hash NOT IN (SELECT email_hash FROM publisher_impressions WHERE segment = 'sports')";
    const queries = [
      'SELECT loyalty_tier, sum(purchases) AS s, count(*) AS n FROM advertiser_customers GROUP BY 1 ORDER BY 1',
      `SELECT t.country, count(*) AS n FROM (SELECT email_hash, country FROM advertiser_customers WHERE ${notIn}) t ` +
        'GROUP BY t.country ORDER BY 1',
      `WITH t AS (SELECT email_hash, country FROM advertiser_customers WHERE ${notIn}) ` +
        'SELECT country, count(*) AS n FROM t GROUP BY country ORDER BY 1',
      "SELECT loyalty_tier, count(*) AS n FROM advertiser_customers WHERE country NOT IN ('DE', age_band) " +
        'GROUP BY 1 ORDER BY 1',
    ];
    for (const sql of queries) expect(await ask(house, { sql }), sql).toEqual(await ask(duck, { sql }));
    // The outlier's tier is held back by dominance on both, not released with that person's value.
    const tiers = (await ask(house, { sql: queries[0] ?? '' })) as { rows: unknown[][]; privacy: object };
    expect(tiers.privacy).toMatchObject({ groupsSuppressed: 1 });
    expect(JSON.stringify(tiers.rows)).not.toContain('1000000000000000');
  });

  it('answers median of a BIGINT, a DOUBLE and a DATE, and round of a BIGINT, as DuckDB does', async () => {
    const queries = [
      // round of a BIGINT (Int128 there) as an integer, as DuckDB rounds it (the checker casts it to BIGINT).
      'SELECT round(birth_year, -1) AS decade, CAST(round(birth_year, -2) AS VARCHAR) AS century, count(*) AS n ' +
        'FROM advertiser_customers GROUP BY 1, 2 ORDER BY 1, 2',
      'SELECT loyalty_tier, median(purchases) AS p, median(purchase_value) AS v, median(signup_date) AS d ' +
        'FROM advertiser_customers GROUP BY 1 ORDER BY 1',
      'SELECT device, median(clicks) AS c, median(view_seconds) AS s, median(impression_date) AS d ' +
        'FROM publisher_impressions GROUP BY 1 ORDER BY 1',
    ];
    for (const sql of queries) {
      const answer = await ask(house, { sql });
      expect(answer, sql).toMatchObject({ rows: expect.arrayContaining([expect.any(Array)]) });
      expect(answer, sql).toEqual(await ask(duck, { sql }));
    }
  });

  it('refuses, as unsupported, a query ClickHouse rejects in its analysis, and keeps no DP charge', async () => {
    const sql = 'SELECT loyalty_tier, median(purchases) AS m FROM advertiser_customers GROUP BY 1 ORDER BY 1';
    endpoint.failNext(/quantileExact/, 43);
    expect(await ask(house, { sql })).toEqual({ refused: 422, code: 'EXECUTOR_UNSUPPORTED' });
    const dp = { sql: 'SELECT country, count(*) AS n FROM advertiser_customers GROUP BY 1', dp: { epsilon: 0.5 } };
    const spent = async () => JSON.stringify(await ask(house, { ...dp, dryRun: true }));
    const before = await spent();
    // 168: the query's tree too big (text-only, as 62 and 167 are).
    endpoint.failNext(/GROUP BY/, 168);
    expect(await ask(house, dp)).toEqual({ refused: 422, code: 'EXECUTOR_UNSUPPORTED' });
    expect(await spent()).toBe(before);
    // Refused for who asks or what it names, before a row is read: unknown table, access denied.
    for (const code of [60, 497]) {
      endpoint.failNext(/GROUP BY/, code);
      expect(await ask(house, dp)).toEqual({ refused: 503, code: 'QUERY_NOT_STARTED' });
      expect(await spent()).toBe(before);
    }
    // Its message says ClickHouse refused (not that it did not answer), and quotes nothing of ClickHouse's.
    endpoint.failNext(/GROUP BY/, 497);
    const refusal = await house
      .client('acme-analyst')
      .send('POST', '/v1/collaborations/demo/queries', dp)
      .catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(RoomRequestError);
    expect((refusal as Error).message).toMatch(/refused it before reading any data/);
    expect((refusal as Error).message).not.toMatch(/did not answer|ACCESS_DENIED|497/);
  });

  it('loads as the loader and runs every release as the reader, under readonly = 2', async () => {
    const from = endpoint.received.length;
    await ask(house, TEMPLATES[0]);
    await ask(house, { sql: 'SELECT country, count(*) AS n FROM advertiser_customers GROUP BY 1' });
    const sent = endpoint.received.slice(from).map((sql, i) => ({ sql, user: endpoint.users[from + i] }));
    expect(sent.length).toBeGreaterThan(1);
    for (const { sql, user } of sent) expect(user, sql).toBe('cleanroom_reader');
    const loads = endpoint.received
      .map((sql, i) => ({ sql, user: endpoint.users[i] }))
      .filter((q) => /^\s*(INSERT INTO|CREATE TABLE .* COMMENT 'cleanroom copy)/i.test(q.sql));
    expect(loads.length).toBeGreaterThan(0);
    for (const { sql, user } of loads) expect(user, sql).toBe('cleanroom_loader');
  });

  it('does not start when its reader refuses the room’s query settings, naming the profile', async () => {
    endpoint.failNext(/^SELECT 1\b/, 164);
    await expect(
      startTestRoom({
        config: {
          executor: { kind: 'clickhouse', url: endpoint.url, reader: { username: 'r' }, database: 'other' },
        },
      }),
    ).rejects.toThrow(/refused a query with the room's settings from the reader \(164\).*server profile/);
  });

  it('keeps its copies on the encrypted disk: no stored identifier appears in its files', async () => {
    const ids = (await readFile('fixtures/advertiser_customers.csv', 'utf8'))
      .split('\n')
      .slice(1, 201)
      .map((line) => line.split(',')[0] ?? '')
      .filter((id) => /^[0-9a-f]{64}$/.test(id));
    expect(ids).toHaveLength(200);
    const filesUnder = async (dir: string): Promise<Buffer> => {
      const entries = await readdir(dir, { recursive: true, withFileTypes: true });
      const files = entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
      return Buffer.concat(await Promise.all(files.map((f) => readFile(f))));
    };
    const found = (bytes: Buffer) => ids.filter((id) => bytes.includes(id)).length;
    const policies = await side.query({
      query: "SELECT DISTINCT storage_policy FROM system.tables WHERE database = 'cleanroom'",
      format: 'JSONEachRow',
    });
    expect(await policies.json()).toEqual([{ storage_policy: 'cleanroom' }]);
    expect(found(await filesUnder(join(disk, 'plain')))).toBe(0);
    // The control: the same rows in a table on the default disk are there to be read in its files.
    await side.command({ query: 'CREATE DATABASE IF NOT EXISTS control' });
    const [current] = (await (
      await side.query({
        query: "SELECT name FROM system.tables WHERE database = 'cleanroom' AND name LIKE 'demo__advertiser%'",
        format: 'JSONEachRow',
      })
    ).json()) as { name: string }[];
    await side.command({
      query:
        'CREATE TABLE control.plain ENGINE = MergeTree ORDER BY tuple() AS ' +
        `SELECT email_hash FROM cleanroom.${current?.name}`,
    });
    expect(found(await filesUnder(endpoint.dataPath))).toBeGreaterThan(150);
    await side.command({ query: 'DROP DATABASE control SYNC' });
  });

  it('keeps a version being copied from the sweep, and refuses an upload whose copy check fails', async () => {
    // The hourly sweep between copy and commit had dropped the new version's table (review).
    const executor = house.internals.executor;
    const stage = executor.stage.bind(executor);
    executor.stage = async (...args) => {
      await stage(...args);
      await house.room.sweepRetention();
    };
    try {
      await uploadDemoDataset(house, 'publisher_impressions');
    } finally {
      executor.stage = stage;
    }
    await uploadDemoDataset(duck, 'publisher_impressions');
    for (const run of TEMPLATES) expect(await ask(house, run)).toEqual(await ask(duck, run));
    // The check whether a copy is already there fails: the upload is refused as a copy failure (503).
    endpoint.failNext(/system\.tables/);
    const failed = await uploadDemoDataset(house, 'publisher_impressions').catch((error: unknown) => error);
    expect(failed).toMatchObject({ status: 503, code: 'EXECUTOR_UNAVAILABLE' });
  });

  it('refuses to start on a database holding another room’s copies, and leaves them alone', async () => {
    const before = await tables();
    await expect(
      startTestRoom({
        config: { executor: { kind: 'clickhouse', url: endpoint.url, database: 'cleanroom' } },
      }),
    ).rejects.toThrow(/holds another room's copies .*each room needs a database of its own/);
    expect(await tables()).toEqual(before);
    // Two rooms that started on one empty database: the second's upload meets the first's table of the
    // same name, refuses, and leaves it (its clean-up had dropped it, review).
    const other = await startTestRoom({
      config: { executor: { kind: 'clickhouse', url: endpoint.url, database: 'shared' } },
    });
    try {
      await other.acceptAll();
      await side.command({
        query:
          'CREATE TABLE shared.demo__advertiser_customers__v1 (x Int32) ENGINE = MergeTree ORDER BY tuple() ' +
          "COMMENT 'cleanroom copy of room 0123456789abcdef0123456789abcdef: envelope sha256 …'",
      });
      const refused = await uploadDemoDataset(other, 'advertiser_customers').catch((error: unknown) => error);
      expect(refused).toMatchObject({ status: 503, code: 'EXECUTOR_UNAVAILABLE' });
      const left = await side.query({
        query: "SELECT name FROM system.tables WHERE database = 'shared'",
        format: 'JSONEachRow',
      });
      expect(await left.json()).toEqual([{ name: 'demo__advertiser_customers__v1' }]);
    } finally {
      await other.close();
      await side.command({ query: 'DROP DATABASE IF EXISTS shared SYNC' });
    }
  });

  it('loads a recorded version whose swap failed from its envelope: one copy, the committed one', async () => {
    const engine = house.internals.engine;
    const spy = vi.spyOn(engine, 'commitIncoming').mockRejectedValueOnce(new Error('Out of Memory Error'));
    await uploadDemoDataset(duck, 'advertiser_customers');
    const loaded = await uploadDemoDataset(house, 'advertiser_customers');
    expect(spy).toHaveBeenCalledTimes(2);
    spy.mockRestore();
    expect(engine.liveVersion('demo', 'advertiser_customers')).toBe(loaded.version);
    const copies = (await tables()).filter((name) => name.startsWith('demo__advertiser_customers__'));
    expect(copies).toEqual([`demo__advertiser_customers__v${loaded.version}`]);
    const run = TEMPLATES[3];
    expect(await ask(house, run)).toEqual(await ask(duck, run));
  });

  it('does not start without its ClickHouse, naming where it looked', async () => {
    await expect(
      startTestRoom({
        config: { executor: { kind: 'clickhouse', url: 'http://127.0.0.1:9', database: 'cleanroom' } },
      }),
    ).rejects.toThrow(/127\.0\.0\.1:9/);
  });
});
