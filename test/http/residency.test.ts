import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_EXTRACT } from '../../src/cli/demo/demo-extract.ts';
import { DEMO_MODEL } from '../../src/cli/demo/demo-model.ts';
import { refusal } from '../support/refusal.ts';
import { startTestRoom, uploadDemoDataset, type TestRoom } from '../support/test-room.ts';

// Issue #12, residency: a room in us-east that may process only us-east. The demo's datasets are
// declared in eu-west, so every path that would read them refuses with the rule, before anything is
// read, stored or charged; a room that may process eu-west serves them.
const path = '/v1/collaborations/demo';
let usOnly: TestRoom;

beforeAll(async () => {
  usOnly = await startTestRoom({ config: { residency: { region: 'us-east', processes: ['us-east'] } } });
  await usOnly.acceptAll();
}, 60_000);
afterAll(async () => usOnly.close());

const regionRefusal = async (promise: Promise<unknown>) => {
  const refused = await refusal(promise, { details: true });
  expect(refused).toMatchObject({
    status: 403,
    code: 'REGION_NOT_ALLOWED',
    details: { region: 'eu-west', roomRegion: 'us-east', processes: ['us-east'] },
  });
  expect(JSON.stringify(refused.details)).toContain('room.residency.processes');
  return refused;
};

describe('residency', () => {
  it('publishes the room’s region and stamps it on every answer, refusals included', async () => {
    const room = await fetch(`${usOnly.baseUrl}/v1/room`);
    expect(room.headers.get('x-cleanroom-region')).toBe('us-east');
    expect(((await room.json()) as { residency: unknown }).residency).toEqual({
      region: 'us-east',
      processes: ['us-east'],
    });
    const unsigned = await fetch(`${usOnly.baseUrl}/v1/collaborations/demo`);
    expect(unsigned.status).toBe(401);
    expect(unsigned.headers.get('x-cleanroom-region')).toBe('us-east');
  });

  it('refuses an upload of a dataset declared elsewhere before a byte is stored', async () => {
    const refused = await regionRefusal(uploadDemoDataset(usOnly, 'advertiser_customers'));
    expect(refused.details).toMatchObject({ dataset: 'advertiser_customers' });
    const status = await usOnly
      .client('acme-analyst')
      .send<{ current: unknown }>('GET', `${path}/datasets/advertiser_customers`);
    expect(status.current).toBeNull();
  });

  it('refuses threshold and DP queries, charging nothing', async () => {
    const analyst = usOnly.client('acme-analyst');
    const sql = 'SELECT country, count(*) AS n FROM advertiser_customers GROUP BY country';
    await regionRefusal(analyst.send('POST', `${path}/queries`, { sql }));
    await regionRefusal(analyst.send('POST', `${path}/queries`, { sql, dp: { epsilon: 1 } }));
    const { budgets } = await analyst.send<{ budgets: { spent: { epsilon: number } }[] }>('GET', `${path}/budget`);
    expect(budgets.every((b) => b.spent.epsilon === 0)).toBe(true);
  });

  it('refuses extracts (dry runs too) and model training', async () => {
    await usOnly.client('northwind-analyst').send('POST', `${path}/extract-templates`, DEMO_EXTRACT);
    await regionRefusal(
      usOnly.client('acme-officer').send('POST', `${path}/extracts`, { template: DEMO_EXTRACT.name, dryRun: true }),
    );
    await usOnly.client('northwind-analyst').send('POST', `${path}/model-templates`, DEMO_MODEL);
    await regionRefusal(
      usOnly.client('northwind-analyst').send('POST', `${path}/models`, { template: DEMO_MODEL.name }),
    );
  });

  it('a room that may process eu-west takes the same upload and answers the same query', async () => {
    const both = await startTestRoom({
      config: { residency: { region: 'us-east', processes: ['us-east', 'eu-west'] } },
    });
    try {
      await both.acceptAll();
      await uploadDemoDataset(both, 'advertiser_customers');
      const answer = await both.client('acme-analyst').send<{ rows: unknown[][] }>('POST', `${path}/queries`, {
        sql: 'SELECT country, count(*) AS n FROM advertiser_customers GROUP BY country',
      });
      expect(answer.rows.length).toBeGreaterThan(0);
    } finally {
      await both.close();
    }
  });
});
