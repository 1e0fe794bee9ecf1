import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { UnavailableError, UnprocessableError } from '../../src/errors/cleanroom-error.ts';
import { refusal } from '../support/refusal.ts';
import { startTestRoom, uploadDemoDataset, type TestRoom } from '../support/test-room.ts';

/**
 * What an analyst learns when a query fails after the checker passed it: the class of failure and
 * nothing of the engine's text; the operator's log has the text, the audit log has the attempt,
 * and a DP charge comes back only if the failure could not depend on the data.
 */
const path = '/v1/collaborations/demo';
let t: TestRoom;
const logLines: string[] = [];
/** A value no query names, planted in a row: it must never reach an answer. */
const SECRET = 'silver-secret-4711';

const spent = async () =>
  (
    await t
      .client('acme-analyst')
      .send<{ budgets: { dataset: string; spent: { epsilon: number } }[] }>('GET', `${path}/budget`)
  ).budgets.find((b) => b.dataset === 'advertiser_customers')?.spent.epsilon;
const actions = async () =>
  (
    await t
      .client('acme-officer')
      .send<{ entries: { action: string; details: Record<string, unknown> }[] }>('GET', `${path}/audit`)
  ).entries;
const ask = (body: object) => t.client('acme-analyst').send('POST', `${path}/queries`, body);

beforeAll(async () => {
  t = await startTestRoom({ logLines });
  await t.acceptAll();
}, 60_000);
afterAll(async () => t?.close());

describe('failed queries', () => {
  it('a dataset that was never uploaded is refused before anything is charged or run', async () => {
    expect(
      await refusal(ask({ sql: 'SELECT count(*) AS n FROM advertiser_customers', dp: { epsilon: 0.5 } }), {
        details: true,
      }),
    ).toEqual({ status: 409, code: 'DATASET_NOT_LOADED', details: { datasets: ['advertiser_customers'] } });
    expect(
      await refusal(ask({ sql: 'SELECT country, count(*) AS n FROM advertiser_customers GROUP BY country' })),
    ).toEqual({ status: 409, code: 'DATASET_NOT_LOADED' });
    expect(await spent()).toBe(0);
    expect((await actions()).map((e) => e.action)).not.toContain('budget.charged');
  });

  it('an engine failure answers its class only; the operator log has its text, the audit log the attempt', async () => {
    await uploadDemoDataset(t, 'advertiser_customers');
    // No checked SQL reaches a conversion error any more (test/query/type-safety.test.ts), so the
    // engine is made to fail the way DuckDB does, quoting a value.
    const engineText = `Conversion Error: Could not convert string '${SECRET}' to INT32`;
    const spy = vi
      .spyOn(t.internals.engine, 'query')
      .mockRejectedValueOnce(
        new UnprocessableError(
          'QUERY_RUNTIME_ERROR',
          'The query failed while it ran.',
          {},
          { cause: new Error(engineText) },
        ),
      );
    try {
      const answer = await refusal(
        ask({ sql: 'SELECT country, count(*) AS n FROM advertiser_customers GROUP BY country' }),
        { details: true },
      );
      expect(answer).toEqual({ status: 422, code: 'QUERY_RUNTIME_ERROR', details: {} });
    } finally {
      spy.mockRestore();
    }
    expect(logLines.some((line) => line.includes(engineText))).toBe(true);
    const failed = (await actions()).filter((e) => e.action === 'query.failed');
    expect(failed.at(-1)?.details).toMatchObject({
      mode: 'threshold',
      errorClass: 'QUERY_RUNTIME_ERROR',
      rewrittenSqlSha256: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    expect(JSON.stringify(failed)).not.toContain(SECRET);
  });

  it('a released ±Infinity or NaN goes out as NULL, in the answer and in its audited digest', async () => {
    // Found in review: a division by 0.0 made the release's RFC 8785 digest throw (500, nothing audited).
    const answer = await t.client('acme-analyst').send<{
      rows: unknown[][];
      audit: { details: { resultSha256: string } };
    }>('POST', `${path}/queries`, {
      sql:
        'SELECT country, count(DISTINCT email_hash) AS people, avg(purchase_value) / 0.0 AS inf, ' +
        "'nan'::DOUBLE * count(*) AS nan FROM advertiser_customers GROUP BY country",
    });
    expect(answer.rows.length).toBeGreaterThan(0);
    for (const row of answer.rows) expect([row[2], row[3]]).toEqual([null, null]);
    expect(answer.audit.details.resultSha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('the real engine answers a failure without its text', async () => {
    // Straight to the engine: SQL the checker would never pass, failing on a stored value.
    const error = await t.internals.engine
      .query('SELECT CAST(country AS INTEGER) FROM demo.advertiser_customers')
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'QUERY_RUNTIME_ERROR', details: {} });
    expect((error as Error).message).not.toMatch(/DE|GB|convert/);
    expect(String(((error as Error).cause as Error).message)).toMatch(/Could not convert string/);
  });

  it('a DP query that times out keeps its charge: how long it ran could depend on the data', async () => {
    const before = await spent();
    const spy = vi
      .spyOn(t.internals.engine, 'query')
      .mockRejectedValueOnce(new UnavailableError('QUERY_TIMEOUT', 'The query ran past the statement timeout.'));
    try {
      expect(
        await refusal(ask({ sql: 'SELECT count(*) AS n FROM advertiser_customers', dp: { epsilon: 0.5 } })),
      ).toEqual({ status: 503, code: 'QUERY_TIMEOUT' });
    } finally {
      spy.mockRestore();
    }
    expect(await spent()).toBe((before ?? 0) + 0.5);
    const last = (await actions()).filter((e) => e.action === 'query.failed').at(-1);
    expect(last?.details).toMatchObject({ mode: 'dp', errorClass: 'QUERY_TIMEOUT', refunded: false });
  });

  it('a DP query the engine never started is refunded, and both are audited', async () => {
    const before = await spent();
    const spy = vi
      .spyOn(t.internals.engine, 'query')
      .mockRejectedValueOnce(new UnavailableError('QUERY_NOT_STARTED', 'The query did not start.'));
    try {
      expect(
        await refusal(ask({ sql: 'SELECT count(*) AS n FROM advertiser_customers', dp: { epsilon: 0.5 } })),
      ).toEqual({ status: 503, code: 'QUERY_NOT_STARTED' });
    } finally {
      spy.mockRestore();
    }
    expect(await spent()).toBe(before);
    const entries = await actions();
    expect(entries.map((e) => e.action).slice(-3)).toEqual(['budget.charged', 'budget.refunded', 'query.failed']);
    expect(entries.at(-1)?.details).toMatchObject({ errorClass: 'QUERY_NOT_STARTED', refunded: true });
  });

  it('a closed engine answers QUERY_NOT_STARTED, never an engine message', async () => {
    const other = await startTestRoom();
    try {
      other.internals.engine.close();
      expect(await other.internals.engine.query('SELECT 1').catch((e: unknown) => (e as { code?: string }).code)).toBe(
        'QUERY_NOT_STARTED',
      );
    } finally {
      await other.close().catch(() => undefined);
    }
  });

  it('states of ε and δ the room cannot honour are refused as input, not a 500', async () => {
    for (const epsilon of [1e-300, 5e-324, 1e-10]) {
      expect(await refusal(ask({ sql: 'SELECT count(*) AS n FROM advertiser_customers', dp: { epsilon } }))).toEqual({
        status: 400,
        code: 'DP_EPSILON_TOO_SMALL',
      });
    }
    // The owners allow δ = 1e-6 for partition selection; an analyst may not lower the threshold by asking for more.
    expect(
      await refusal(
        ask({
          sql: 'SELECT country, count(*) AS n FROM advertiser_customers GROUP BY country',
          dp: { epsilon: 0.5, delta: 1e-3 },
        }),
        { details: true },
      ),
    ).toEqual({
      status: 400,
      code: 'DP_DELTA_TOO_LARGE',
      details: expect.objectContaining({ delta: 1e-3, max: 1e-6 }),
    });
    const smaller = await t
      .client('acme-analyst')
      .send<{ privacy: { deltaSpent: number; partitionSelection: { threshold: number } } }>('POST', `${path}/queries`, {
        sql: 'SELECT country, count(*) AS n FROM advertiser_customers GROUP BY country',
        dp: { epsilon: 0.5, delta: 1e-7 },
      });
    expect(smaller.privacy.deltaSpent).toBe(1e-7);
  });
});
