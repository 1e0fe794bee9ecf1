import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uploadFile } from '../../src/client/upload-file.ts';
import { cryptoRandomSource } from '../../src/privacy/random-source.ts';
import { startTestRoom, type TestRoom } from '../support/test-room.ts';
import { customersCsv } from '../support/fixture-csv.ts';
import { refusal } from '../support/refusal.ts';
import { seededRandomSource } from '../support/seeded-random-source.ts';

let t: TestRoom;
const path = '/v1/collaborations/demo';
const hash = (s: string) => createHash('sha256').update(s).digest('hex');

interface DpAnswer {
  rows: (string | number | null)[][];
  privacy: {
    mode: string;
    epsilonSpent: number;
    deltaSpent: number;
    remaining: Record<string, { epsilon: number }>;
    noise: Record<string, { scale: number; ci95HalfWidth: number }>;
    partitionSelection: { threshold: number } | null;
    contribution: { maxGroupsPerUnit: number; maxRowsPerUnit: number };
  };
}

/** 300 ordinary people with 2 impressions each, and one person with 10,000 impressions (and a huge view time). */
function heavyHitterImpressions(): string {
  const lines = ['email_hash,ip_address,impression_date,campaign,segment,device,clicks,view_seconds'];
  for (let i = 0; i < 300; i++) {
    for (const campaign of ['spring_sale', 'holiday'])
      lines.push(`${hash(`person${i}@example.com`)},192.0.2.1,2025-11-1${i % 9},${campaign},sports,mobile,0,10.0`);
  }
  const heavy = hash('heavy@example.com');
  const campaigns = ['spring_sale', 'holiday', 'retargeting', 'brand_awareness', 'extra_a', 'extra_b'];
  for (let j = 0; j < 10_000; j++)
    lines.push(`${heavy},192.0.2.2,2025-11-01,${campaigns[j % 6]},sports,mobile,1,100000.0`);
  return `${lines.join('\n')}\n`;
}

const ask = (principal: string, body: object) => t.client(principal).send<DpAnswer>('POST', `${path}/queries`, body);

beforeAll(async () => {
  // Seeded: partition selection and noise are random, and these assertions must not be.
  t = await startTestRoom({
    randomSource: seededRandomSource(5),
    edit: (p) => {
      const impressions = p.datasets[1]!.rules.dp!;
      impressions.budget.epsilon = 1000;
      impressions.maxEpsilonPerQuery = 5;
      p.datasets[0]!.rules.dp!.budget.epsilon = 3;
    },
  });
  await t.acceptAll();
  const customers = join(t.dir, 'customers.csv');
  await writeFile(customers, customersCsv(2000));
  await uploadFile({
    client: t.client('acme-provider'),
    key: t.keys['acme-provider']!,
    collaboration: 'demo',
    dataset: 'advertiser_customers',
    file: customers,
  });
  const impressions = join(t.dir, 'impressions.csv');
  await writeFile(impressions, heavyHitterImpressions());
  await uploadFile({
    client: t.client('northwind-provider'),
    key: t.keys['northwind-provider']!,
    collaboration: 'demo',
    dataset: 'publisher_impressions',
    file: impressions,
  });
});
afterAll(async () => t.close());

describe('contribution bounding', () => {
  it('caps a 10,000-row person at maxRowsPerUnit per group and maxGroupsPerUnit groups, clamping metrics', async () => {
    const dry = (await ask('northwind-analyst', {
      sql: 'SELECT campaign, count(*) AS n, sum(view_seconds) AS seconds FROM publisher_impressions GROUP BY campaign',
      dp: { epsilon: 1 },
      dryRun: true,
    })) as unknown as { rewrittenSql: string };
    // Run the exact bounded aggregate (before noise) and compare with the raw data.
    const bounded = await t.internals.engine.query(dry.rewrittenSql);
    const counts = bounded.rows.map((r) => Number(r[2]));
    const totalBounded = counts.reduce((a, b) => a + b, 0);
    // 300 people x 2 campaigns, plus the heavy hitter: at most 4 groups x 20 rows = 80 rows, not 10,000.
    expect(totalBounded).toBeLessThanOrEqual(600 + 4 * 20);
    expect(totalBounded).toBeGreaterThanOrEqual(600 + 20);
    expect(bounded.rows.length).toBeLessThanOrEqual(6);
    // view_seconds is clamped to [0, 120] per row before summing, so the heavy hitter adds at most 80 x 120.
    const sum = (
      dry as unknown as { dp: { aggregates: { kind: string; clamp?: number[]; granularity?: number }[] } }
    ).dp.aggregates.find((a) => a.kind === 'sum');
    expect(sum?.clamp).toEqual([0, 120]);
    const boundedSeconds = bounded.rows.reduce((total, r) => total + Number(r[3]), 0) * (sum?.granularity ?? 0);
    // 600 ordinary rows of 10 s, and at most 80 of the heavy hitter's rows clamped to 120 s.
    expect(boundedSeconds).toBeLessThanOrEqual(600 * 10 + 80 * 120 + 1);
    const raw = await t.internals.engine.query('SELECT sum(view_seconds) FROM demo.publisher_impressions');
    expect(Number(raw.rows[0]?.[0])).toBeGreaterThan(1e9);
  });

  it("releases noisy values with their noise scale, and never the heavy hitter's extra campaigns", async () => {
    const answer = await ask('northwind-analyst', {
      sql: 'SELECT campaign, count(*) AS n FROM publisher_impressions GROUP BY campaign',
      dp: { epsilon: 2 },
    });
    expect(answer.privacy.mode).toBe('dp');
    expect(answer.privacy.noise.n?.scale).toBeGreaterThan(0);
    expect(answer.privacy.contribution).toEqual({ maxGroupsPerUnit: 4, maxRowsPerUnit: 20 });
    const campaigns = answer.rows.map((r) => r[0]);
    // extra_a / extra_b have one person: partition selection must not release them.
    expect(campaigns).not.toContain('extra_a');
    expect(campaigns).not.toContain('extra_b');
    for (const row of answer.rows)
      expect(Math.abs(Number(row[1]) - 310)).toBeLessThan(answer.privacy.noise.n!.ci95HalfWidth * 3 + 20);
  });
});

describe('budget ledger', () => {
  it('says what each query cost and what is left, and refuses overspending', async () => {
    const before = await t
      .client('acme-analyst')
      .send<{ budgets: { dataset: string; remaining: { epsilon: number } }[] }>('GET', `${path}/budget`);
    expect(before.budgets.find((b) => b.dataset === 'advertiser_customers')?.remaining.epsilon).toBe(3);
    const first = await ask('acme-analyst', {
      sql: 'SELECT age_band, count(*) AS n FROM advertiser_customers GROUP BY age_band',
      dp: { epsilon: 1 },
    });
    expect(first.privacy).toMatchObject({ epsilonSpent: 1, remaining: { advertiser_customers: { epsilon: 2 } } });
    expect(
      await refusal(ask('acme-analyst', { sql: 'SELECT count(*) FROM advertiser_customers', dp: { epsilon: 1.5 } })),
    ).toMatchObject({ status: 400, code: 'DP_EPSILON_TOO_LARGE' });
  });

  it('lets concurrent queries spend exactly the budget, never more', async () => {
    const remaining = (
      await t
        .client('acme-analyst')
        .send<{ budgets: { dataset: string; remaining: { epsilon: number } }[] }>('GET', `${path}/budget`)
    ).budgets.find((b) => b.dataset === 'advertiser_customers')!.remaining.epsilon;
    expect(remaining).toBe(2);
    const results = await Promise.all(
      Array.from({ length: 8 }, () =>
        refusal(ask('acme-analyst', { sql: 'SELECT count(*) AS n FROM advertiser_customers', dp: { epsilon: 0.5 } })),
      ),
    );
    expect(results.filter((r) => r.code === 'ACCEPTED')).toHaveLength(4);
    expect(results.filter((r) => r.code === 'DP_BUDGET_EXHAUSTED' && r.status === 429)).toHaveLength(4);
    const after = await t
      .client('acme-analyst')
      .send<{ budgets: { dataset: string; spent: { epsilon: number }; remaining: { epsilon: number } }[] }>(
        'GET',
        `${path}/budget`,
      );
    expect(after.budgets.find((b) => b.dataset === 'advertiser_customers')).toMatchObject({
      spent: { epsilon: 3 },
      remaining: { epsilon: 0 },
    });
  });

  it('budgets are per analyst member: another member still has its own', async () => {
    const answer = await ask('northwind-analyst', {
      sql: 'SELECT count(*) AS n FROM advertiser_customers',
      dp: { epsilon: 0.5 },
    });
    expect(answer.privacy.remaining.advertiser_customers?.epsilon).toBe(2.5);
  });

  it('charges nothing for a query over a dataset that was never uploaded', async () => {
    const other = await startTestRoom();
    try {
      await other.acceptAll();
      // Refused before the charge (test/http/query-failures.test.ts covers refunds of charged queries).
      const failed = await refusal(
        other
          .client('acme-analyst')
          .send('POST', `${path}/queries`, { sql: 'SELECT count(*) FROM advertiser_customers', dp: { epsilon: 1 } }),
      );
      expect(failed).toMatchObject({ status: 409, code: 'DATASET_NOT_LOADED' });
      const budget = await other
        .client('acme-analyst')
        .send<{ budgets: { dataset: string; spent: { epsilon: number } }[] }>('GET', `${path}/budget`);
      expect(budget.budgets.find((b) => b.dataset === 'advertiser_customers')?.spent.epsilon).toBe(0);
      const audit = await other.client('acme-officer').send<{ entries: { action: string }[] }>('GET', `${path}/audit`);
      expect(audit.entries.map((e) => e.action)).not.toContain('budget.charged');
    } finally {
      await other.close();
    }
  });
});

describe('randomness', () => {
  it('a room started without an injected source draws its noise from the CSPRNG', async () => {
    const plain = await startTestRoom();
    try {
      expect(plain.internals.randomSource).toBe(cryptoRandomSource);
      expect(t.internals.randomSource).not.toBe(cryptoRandomSource);
    } finally {
      await plain.close();
    }
  });
});

describe('DP refusals', () => {
  it('refuses shapes that have no DP form, with the reason and position', async () => {
    const refused = await refusal(
      ask('northwind-analyst', {
        sql:
          'SELECT campaign, count(view_seconds) AS s FROM publisher_impressions ' +
          'GROUP BY campaign HAVING count(*) > 5',
        dp: { epsilon: 1 },
      }),
      { details: true },
    );
    expect(refused).toMatchObject({ status: 422, code: 'QUERY_REFUSED' });
    const diagnostics = refused.details?.diagnostics as { code: string; message: string; position?: unknown }[];
    expect(diagnostics.length).toBeGreaterThanOrEqual(2);
    expect(diagnostics.every((d) => d.code === 'DP_NOT_SUPPORTED')).toBe(true);
    expect(diagnostics.some((d) => d.position)).toBe(true);
    expect(diagnostics.map((d) => d.message).join(' ')).toMatch(/HAVING/);
  });

  it('refuses non-DP queries on a dataset whose owner requires DP', async () => {
    const strict = await startTestRoom({
      edit: (p) => {
        p.datasets[0]!.rules.dp!.required = true;
      },
    });
    try {
      await strict.acceptAll();
      const refused = await refusal(
        strict
          .client('acme-analyst')
          .send('POST', `${path}/queries`, { sql: 'SELECT count(*) FROM advertiser_customers', dryRun: true }),
        { details: true },
      );
      expect((refused.details?.diagnostics as { code: string }[]).map((d) => d.code)).toEqual(['DP_REQUIRED']);
    } finally {
      await strict.close();
    }
  });
});

describe('differencing', () => {
  it('two queries differing by one person give noisy answers whose difference does not reveal the person', async () => {
    // "all sports viewers" vs "all sports viewers seen after 2025-11-01" differs by exactly the
    // heavy hitter; with DP the answers overlap instead of differing by exactly one.
    const a: number[] = [];
    const b: number[] = [];
    for (let i = 0; i < 12; i++) {
      a.push(
        Number(
          (
            await ask('northwind-analyst', {
              sql: "SELECT count(DISTINCT email_hash) AS people FROM publisher_impressions WHERE segment = 'sports'",
              dp: { epsilon: 0.2 },
            })
          ).rows[0]?.[0],
        ),
      );
      b.push(
        Number(
          (
            await ask('northwind-analyst', {
              sql:
                "SELECT count(DISTINCT email_hash) AS people FROM publisher_impressions WHERE segment = 'sports' " +
                "AND impression_date > DATE '2025-11-01'",
              dp: { epsilon: 0.2 },
            })
          ).rows[0]?.[0],
        ),
      );
    }
    const exactDifference = 1; // only the heavy hitter was seen on 2025-11-01
    const differences = a.map((x, i) => x - (b[i] as number));
    expect(new Set(differences).size).toBeGreaterThan(3);
    expect(differences.some((d) => d !== exactDifference)).toBe(true);
    expect(Math.min(...a)).toBeLessThan(Math.max(...b));
  });
});
