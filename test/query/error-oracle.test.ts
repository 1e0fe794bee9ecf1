import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uploadFile } from '../../src/client/upload-file.ts';
import { refusal } from '../support/refusal.ts';
import { startTestRoom, type TestRoom } from '../support/test-room.ts';
import { TARGET } from './adversarial-corpus.ts';

let t: TestRoom;

beforeAll(async () => {
  t = await startTestRoom();
  await t.acceptAll();
  await uploadFile({ client: t.client('acme-provider'), key: t.keys['acme-provider']!, collaboration: 'demo', dataset: 'advertiser_customers', file: resolve('fixtures/advertiser_customers.csv') });
});
afterAll(async () => t.close());

const ask = (sql: string) => t.client('acme-analyst').send<{ rows: unknown[][]; privacy: { groupsSuppressed: number } }>('POST', '/v1/collaborations/demo/queries', { sql });

describe('runtime errors are not an oracle on hidden groups', () => {
  it('a failing expression behind a condition on a one-person group\'s sum answers the same whichever way the condition goes', async () => {
    // The target (alone in its group) has purchase_value 43.80. "age_band = 1" fails at run time
    // (VARCHAR to INTEGER) if it is ever evaluated for that group.
    const probe = (threshold: number) => `SELECT age_band, count(*) AS n, CASE WHEN sum(purchase_value) > ${threshold} THEN age_band = 1 END AS probe
      FROM advertiser_customers WHERE signup_date = DATE '2025-11-28' AND country = 'DE' GROUP BY age_band`;
    const below = await ask(probe(40));
    const above = await ask(probe(50));
    expect(below).toMatchObject({ rows: [], privacy: { groupsSuppressed: expect.any(Number) } });
    expect(above.rows).toEqual(below.rows);
    expect(above.privacy.groupsSuppressed).toBe(below.privacy.groupsSuppressed);
    const raw = await t.room.engine.query(`SELECT purchase_value FROM demo.advertiser_customers WHERE ${TARGET.where}`);
    expect(raw.rows).toEqual([[43.8]]);
  });

  it('the same guard applies to HAVING and ORDER BY', async () => {
    const having = (threshold: number) => `SELECT age_band, count(*) AS n FROM advertiser_customers WHERE signup_date = DATE '2025-11-28' AND country = 'DE'
      GROUP BY age_band HAVING CASE WHEN sum(purchase_value) > ${threshold} THEN age_band = 1 ELSE true END ORDER BY CASE WHEN sum(purchase_value) > ${threshold} THEN age_band = 2 END`;
    const [a, b] = [await refusal(ask(having(40))), await refusal(ask(having(50)))];
    expect(a).toEqual({ status: 0, code: 'ACCEPTED' });
    expect(b).toEqual(a);
  });

  it('functions that can fail on some values are not on the allow-list', async () => {
    for (const sql of [
      "SELECT left(country, 2) AS c, count(*) FROM advertiser_customers GROUP BY 1",
      "SELECT date_part(country, signup_date) AS p, count(*) FROM advertiser_customers GROUP BY 1",
    ]) {
      expect(await refusal(ask(sql))).toMatchObject({ status: 422, code: 'QUERY_REFUSED' });
    }
  });
});
