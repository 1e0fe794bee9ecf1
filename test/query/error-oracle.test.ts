import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { refusal } from '../support/refusal.ts';
import { startTestRoom, uploadDemoDataset, type TestRoom } from '../support/test-room.ts';
import { TARGET } from './adversarial-corpus.ts';

let t: TestRoom;

beforeAll(async () => {
  t = await startTestRoom();
  await t.acceptAll();
  await uploadDemoDataset(t, 'advertiser_customers');
});
afterAll(async () => t.close());

const ask = (sql: string) =>
  t
    .client('acme-analyst')
    .send<{ rows: unknown[][]; privacy: { groupsSuppressed: number } }>('POST', '/v1/collaborations/demo/queries', {
      sql,
    });

describe('runtime errors are not an oracle on hidden groups', () => {
  it(
    "a failing expression behind a condition on a one-person group's sum is refused before running, whichever " +
      'way the condition goes',
    async () => {
      // The target (alone in its group) has purchase_value 43.80. "age_band = 1" would fail at run
      // time (VARCHAR to INTEGER) if it were ever evaluated; the checker refuses it from its types.
      const probe = (
        threshold: number,
      ) => `SELECT age_band, count(*) AS n, CASE WHEN sum(purchase_value) > ${threshold} THEN age_band = 1 END AS probe
      FROM advertiser_customers WHERE signup_date = DATE '2025-11-28' AND country = 'DE' GROUP BY age_band`;
      const [below, above] = [await refusal(ask(probe(40))), await refusal(ask(probe(50)))];
      expect(below).toMatchObject({ status: 422, code: 'QUERY_REFUSED' });
      expect(above).toEqual(below);
      const raw = await t.internals.engine.query(
        `SELECT purchase_value FROM demo.advertiser_customers WHERE ${TARGET.where}`,
      );
      expect(raw.rows).toEqual([[43.8]]);
    },
  );

  it('the same holds in HAVING and ORDER BY, and a well-typed guard answers the same either way', async () => {
    const having = (threshold: number, compare: string) => `SELECT age_band, count(*) AS n FROM advertiser_customers
      WHERE signup_date = DATE '2025-11-28' AND country = 'DE'
      GROUP BY age_band HAVING CASE WHEN sum(purchase_value) > ${threshold} THEN age_band = ${compare} ELSE true END
      ORDER BY CASE WHEN sum(purchase_value) > ${threshold} THEN age_band = ${compare} END`;
    const [a, b] = [await refusal(ask(having(40, '1'))), await refusal(ask(having(50, '1')))];
    expect(a).toMatchObject({ status: 422, code: 'QUERY_REFUSED' });
    expect(b).toEqual(a);
    const [c, d] = [await ask(having(40, "'55-64'")), await ask(having(50, "'55-64'"))];
    expect(c.rows).toEqual(d.rows);
    expect(c.privacy.groupsSuppressed).toBe(d.privacy.groupsSuppressed);
  });

  it('functions that can fail on some values are not on the allow-list', async () => {
    for (const sql of [
      'SELECT left(country, 2) AS c, count(*) FROM advertiser_customers GROUP BY 1',
      'SELECT date_part(country, signup_date) AS p, count(*) FROM advertiser_customers GROUP BY 1',
    ]) {
      expect(await refusal(ask(sql))).toMatchObject({ status: 422, code: 'QUERY_REFUSED' });
    }
  });
});
