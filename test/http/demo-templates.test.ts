import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { review } from '../support/approve.ts';
import { seededRandomSource } from '../support/seeded-random-source.ts';
import { cli, keyFile } from '../support/cli.ts';
import { startTestRoom, uploadDemoDataset, type TestRoom } from '../support/test-room.ts';

let t: TestRoom;
const RUNS = [
  {
    template: 'audience_overlap_by_segment',
    params: { campaign: 'holiday' },
    columns: ['segment', 'overlapping_customers', 'impressions'],
  },
  {
    template: 'reach_and_frequency',
    params: { from: '2025-10-01', to: '2025-12-31' },
    columns: ['campaign', 'reach', 'impressions', 'avg_frequency'],
  },
  {
    template: 'conversion_lift',
    params: { campaign: 'spring_sale' },
    columns: ['exposure', 'customers', 'conversions', 'conversion_rate_pct'],
  },
  {
    template: 'purchase_value_by_segment',
    params: {},
    columns: ['segment', 'customers', 'total_purchase_value', 'avg_purchase_value'],
  },
] as const;

interface Answer {
  columns: { name: string }[];
  rows: (string | number | null)[][];
  privacy: { mode: string; epsilonSpent?: number };
}

beforeAll(async () => {
  // Seeded, so that DP partition selection releases the same groups on every run: with the CSPRNG
  // the overlap template's six groups (221-389 people) all fall below the threshold about 7% of the time.
  t = await startTestRoom({
    config: { templatesDirectory: resolve('sql') },
    randomSource: seededRandomSource(20261130),
  });
  await t.acceptAll();
  for (const dataset of ['advertiser_customers', 'publisher_impressions']) await uploadDemoDataset(t, dataset);
  for (const { template } of RUNS) {
    const status = await t
      .client('acme-analyst')
      .send<{ requiredMembers: string[] }>('GET', `/v1/collaborations/demo/templates/${template}`);
    for (const member of status.requiredMembers) await review(t, `${member}-officer`, template);
  }
});
afterAll(async () => t.close());

describe('every demo template, after approval', () => {
  it.each(RUNS)('$template runs through the API, thresholded and in DP mode', async ({ template, params, columns }) => {
    const plain = await t
      .client('acme-analyst')
      .send<Answer>('POST', '/v1/collaborations/demo/queries', { template, params });
    expect(plain.columns.map((c) => c.name)).toEqual(columns);
    expect(plain.rows.length).toBeGreaterThan(0);
    const dp = await t
      .client('northwind-analyst')
      .send<Answer>('POST', '/v1/collaborations/demo/queries', { template, params, dp: { epsilon: 0.5 } });
    expect(dp.privacy).toMatchObject({ mode: 'dp', epsilonSpent: 0.5 });
    expect(dp.columns.map((c) => c.name)).toEqual(columns);
    expect(dp.rows.length).toBeGreaterThan(0);
  });

  it('runs through the CLI, printing the released table and the privacy line', async () => {
    const key = await keyFile(t, 'acme-analyst');
    for (const { template, params, columns } of RUNS) {
      const args = Object.entries(params).flatMap(([k, v]) => ['--param', `${k}=${v}`]);
      const out = await cli([
        'query',
        '--collab',
        'demo',
        '--url',
        t.baseUrl,
        '--key',
        key,
        '--template',
        template,
        ...args,
      ]);
      expect(out.split('\n')[0]?.split(/\s+/)).toEqual(columns);
      expect(out).toMatch(/groups released \(≥ 50 people each\)/);
    }
    const dp = await cli([
      'query',
      '--collab',
      'demo',
      '--url',
      t.baseUrl,
      '--key',
      key,
      '--template',
      'conversion_lift',
      '--param',
      'campaign=holiday',
      '--dp-epsilon',
      '0.5',
    ]);
    expect(dp).toMatch(/DP \(laplace\): paid ε 0.5/);
  }, 120_000);
});
