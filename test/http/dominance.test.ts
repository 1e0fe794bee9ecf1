import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uploadFile } from '../../src/client/upload-file.ts';
import { startTestRoom, type PolicyDraft, type TestRoom } from '../support/test-room.ts';

/**
 * The owners' (n, p) dominance rule in threshold mode: a group where the top n people give more
 * than p of a count or sum is suppressed and counted among the suppressed, whatever its size.
 */
const hash = (s: string) => createHash('sha256').update(s).digest('hex');
const path = '/v1/collaborations/demo';

/** 400 people with 2 impressions each on 'sports'; one of them with 10,000 more (and 100,000 s of view time each). */
function impressions(): string {
  const lines = ['email_hash,ip_address,impression_date,campaign,segment,device,clicks,view_seconds'];
  for (let i = 0; i < 400; i++) {
    for (const campaign of ['spring_sale', 'holiday'])
      lines.push(`${hash(`p${i}`)},192.0.2.1,2025-11-1${i % 9},${campaign},sports,mobile,0,10.0`);
    lines.push(`${hash(`p${i}`)},192.0.2.1,2025-11-1${i % 9},holiday,travel,mobile,0,10.0`);
  }
  for (let j = 0; j < 10_000; j++) lines.push(`${hash('p0')},192.0.2.2,2025-11-01,holiday,sports,desktop,1,100000.0`);
  return `${lines.join('\n')}\n`;
}

/** 100 customers, one row each; the first spends 1,000,000, the others 10. */
function customers(): string {
  const lines = [
    'email_hash,phone,age_band,country,loyalty_tier,signup_date,zip_code,birth_year,purchases,purchase_value,converted',
  ];
  for (let i = 0; i < 100; i++) {
    const spent = i === 0 ? 1_000_000 : 10;
    lines.push(`${hash(`p${i}`)},+4400000${i},25-34,${i % 2 ? 'DE' : 'FR'},none,2024-01-01,10000,1990,1,${spent},0`);
  }
  return `${lines.join('\n')}\n`;
}

let withRule: TestRoom;
let withoutRule: TestRoom;
let dir: string;

async function load(t: TestRoom): Promise<void> {
  await t.acceptAll();
  await uploadFile({
    client: t.client('northwind-provider'),
    key: t.keys['northwind-provider']!,
    collaboration: 'demo',
    dataset: 'publisher_impressions',
    file: join(dir, 'impressions.csv'),
  });
  await uploadFile({
    client: t.client('acme-provider'),
    key: t.keys['acme-provider']!,
    collaboration: 'demo',
    dataset: 'advertiser_customers',
    file: join(dir, 'customers.csv'),
  });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cleanroom-dominance-'));
  await writeFile(join(dir, 'impressions.csv'), impressions());
  await writeFile(join(dir, 'customers.csv'), customers());
  // median does not decompose into per-person partials: allowed here to test the two-pass form too.
  const allowMedian = (p: PolicyDraft) => {
    for (const d of p.datasets) d.rules.aggregates = [...d.rules.aggregates, 'median'];
  };
  withRule = await startTestRoom({ edit: allowMedian });
  withoutRule = await startTestRoom({
    edit: (p) => {
      allowMedian(p);
      for (const d of p.datasets) delete (d.rules as { dominance?: unknown }).dominance;
    },
  });
  await load(withRule);
  await load(withoutRule);
}, 120_000);
afterAll(async () => {
  await withRule?.close();
  await withoutRule?.close();
  await rm(dir, { recursive: true, force: true });
});

interface Answer {
  rows: (string | number | null)[][];
  privacy: { groupsSuppressed: number };
}
const ask = (t: TestRoom, sql: string) => t.client('acme-analyst').send<Answer>('POST', `${path}/queries`, { sql });

describe('dominance rule', () => {
  it('suppresses a large group whose count one person dominates, and counts it as suppressed', async () => {
    const sql =
      'SELECT segment, count(DISTINCT email_hash) AS people, count(*) AS impressions FROM publisher_impressions ' +
      'GROUP BY segment ORDER BY segment';
    // Without the rule the heavy person's 10,000 impressions are released inside a group of 400.
    expect((await ask(withoutRule, sql)).rows).toEqual([
      ['sports', 400, 10_800],
      ['travel', 400, 400],
    ]);
    const answer = await ask(withRule, sql);
    expect(answer.rows).toEqual([['travel', 400, 400]]);
    expect(answer.privacy.groupsSuppressed).toBe(1);
  });

  it('suppresses a group whose sum one person dominates, also through a view and a join', async () => {
    const sum =
      'SELECT country, count(*) AS n, sum(purchase_value) AS spent FROM advertiser_customers GROUP BY country ' +
      'ORDER BY country';
    expect((await ask(withoutRule, sum)).rows).toEqual([
      ['DE', 50, 500],
      ['FR', 50, 1_000_490],
    ]);
    expect((await ask(withRule, sum)).rows).toEqual([['DE', 50, 500]]);
    const joined = `WITH v AS (SELECT email_hash, segment, view_seconds FROM publisher_impressions)
      SELECT c.country, sum(v.view_seconds) AS seconds
      FROM advertiser_customers AS c JOIN v ON c.email_hash = v.email_hash GROUP BY c.country ORDER BY c.country`;
    const released = await ask(withRule, joined);
    expect(released.rows.map((r) => r[0])).toEqual(['DE']);
    expect(released.privacy.groupsSuppressed).toBe(1);
    // An average carries the same sum.
    expect(
      (
        await ask(
          withRule,
          'SELECT country, avg(purchase_value) AS a FROM advertiser_customers GROUP BY country ORDER BY country',
        )
      ).rows.map((r) => r[0]),
    ).toEqual(['DE']);
  });

  it('measures contributions in a second pass when an aggregate does not decompose per person', async () => {
    const sql =
      'SELECT segment, median(view_seconds) AS m, count(*) AS n FROM publisher_impressions GROUP BY segment ' +
      'ORDER BY segment';
    const dry = await withRule
      .client('acme-analyst')
      .send<{ rewrittenSql: string }>('POST', `${path}/queries`, { sql, dryRun: true });
    expect(dry.rewrittenSql).toContain('__cr_people');
    expect(dry.rewrittenSql).not.toContain('__cr_rows');
    expect((await ask(withoutRule, sql)).rows).toEqual([
      ['sports', 100_000, 10_800],
      ['travel', 10, 400],
    ]);
    const answer = await ask(withRule, sql);
    expect(answer.rows).toEqual([['travel', 10, 400]]);
    expect(answer.privacy.groupsSuppressed).toBe(1);
  });

  it('leaves groups where no few people dominate as they were', async () => {
    const sql =
      "SELECT campaign, count(*) AS n FROM publisher_impressions WHERE device = 'mobile' GROUP BY campaign " +
      'ORDER BY campaign';
    expect((await ask(withRule, sql)).rows).toEqual((await ask(withoutRule, sql)).rows);
  });
});
