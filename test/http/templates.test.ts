import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolve } from 'node:path';
import { review } from '../support/approve.ts';
import { startTestRoom, uploadDemoDataset, type TestRoom } from '../support/test-room.ts';
import { refusal } from '../support/refusal.ts';

let t: TestRoom;
const path = '/v1/collaborations/demo';

const proposal = (
  sql: string,
  name = 'segments_by_country',
  parameters: Record<string, unknown> = {
    country: { type: 'enum', values: ['GB', 'DE', 'FR', 'NL', 'IE', 'ES', 'US'] },
  },
) => ({
  name,
  collaboration: 'demo',
  description: 'Overlap by segment for one country',
  sql,
  parameters,
});
const SQL =
  'SELECT p.segment, count(DISTINCT c.email_hash) AS people FROM advertiser_customers c JOIN publisher_impressions ' +
  'p ON c.email_hash = p.email_hash WHERE c.country = $country GROUP BY p.segment';

interface Answer {
  columns: { name: string }[];
  rows: unknown[][];
  privacy: { minGroupSize: number; groupsSuppressed: number; policyHash: string };
}

beforeAll(async () => {
  t = await startTestRoom({ config: { templatesDirectory: resolve('sql') } });
  await t.acceptAll();
  for (const dataset of ['advertiser_customers', 'publisher_impressions']) await uploadDemoDataset(t, dataset);
});
afterAll(async () => t.close());

describe('templates', () => {
  it('an analyst proposes; the review shows the checker report and who must approve', async () => {
    const status = await t.client('acme-analyst').send<{
      hash: string;
      runnable: boolean;
      requiredMembers: string[];
      report: { datasets: string[]; columns: unknown[]; threshold: { minGroupSize: number } };
    }>('POST', `${path}/templates`, proposal(SQL));
    expect(status.runnable).toBe(false);
    expect(status.requiredMembers).toEqual(['acme', 'northwind']);
    expect(status.report.datasets.sort()).toEqual(['advertiser_customers', 'publisher_impressions']);
    expect(status.report.columns).toContainEqual({
      dataset: 'advertiser_customers',
      column: 'email_hash',
      class: 'identifier',
    });
    expect(status.report.threshold.minGroupSize).toBe(50);
  });

  it('refuses proposals that fail the checker, and proposals by non-analysts', async () => {
    expect(
      await refusal(
        t
          .client('acme-analyst')
          .send('POST', `${path}/templates`, proposal('SELECT email_hash FROM advertiser_customers', 'leaky', {})),
      ),
    ).toMatchObject({ status: 422, code: 'QUERY_REFUSED' });
    expect(
      await refusal(t.client('acme-officer').send('POST', `${path}/templates`, proposal(SQL, 'other'))),
    ).toMatchObject({ status: 403, code: 'ROLE_REQUIRED' });
    expect(
      await refusal(t.client('acme-analyst').send('POST', `${path}/templates`, proposal(SQL, 'undeclared', {}))),
    ).toMatchObject({ status: 422, code: 'TEMPLATE_INVALID' });
  });

  it('type-checks parameters by their declared types: a number compared with a text column is refused', async () => {
    const typed = (sql: string, parameters: Record<string, unknown>, name: string) =>
      refusal(t.client('acme-analyst').send('POST', `${path}/templates`, proposal(sql, name, parameters)), {
        details: true,
      });
    // Bound as BIGINT against VARCHAR values, this would fail at run time on the first non-numeric one.
    const refused = await typed(
      'SELECT country, count(*) AS n FROM advertiser_customers WHERE loyalty_tier = $tier GROUP BY country',
      { tier: { type: 'integer' } },
      'typed_bad',
    );
    expect(refused).toMatchObject({ status: 422, code: 'QUERY_REFUSED' });
    expect((refused.details?.diagnostics as { code: string }[]).map((d) => d.code)).toEqual(['TYPE_MISMATCH']);
    expect(
      await typed(
        'SELECT country, count(*) AS n FROM advertiser_customers ' +
          'WHERE signup_date >= $since AND list_contains($tiers, loyalty_tier) GROUP BY country',
        { since: { type: 'date' }, tiers: { type: 'list', items: { type: 'enum', values: ['gold', 'silver'] } } },
        'typed_good',
      ),
    ).toEqual({ status: 0, code: 'ACCEPTED' });
    expect(
      (
        await typed(
          'SELECT country, count(*) AS n FROM advertiser_customers ' +
            'WHERE list_contains($days, loyalty_tier) GROUP BY country',
          { days: { type: 'list', items: { type: 'date' } } },
          'typed_list_bad',
        )
      ).code,
    ).toBe('QUERY_REFUSED');
  });

  it('does not run until an officer of every data owner approved the current hash', async () => {
    const run = () =>
      t
        .client('acme-analyst')
        .send<Answer>('POST', `${path}/queries`, { template: 'segments_by_country', params: { country: 'GB' } });
    expect(await refusal(run())).toMatchObject({ status: 409, code: 'TEMPLATE_NOT_APPROVED' });
    expect((await review(t, 'acme-officer', 'segments_by_country')).runnable).toBe(false);
    expect(await refusal(run())).toMatchObject({ status: 409, code: 'TEMPLATE_NOT_APPROVED' });
    expect((await review(t, 'northwind-officer', 'segments_by_country')).runnable).toBe(true);
    const answer = await run();
    expect(answer.columns.map((c) => c.name)).toEqual(['segment', 'people']);
    expect(answer.rows.length).toBeGreaterThan(0);
    for (const row of answer.rows) expect(Number(row[1])).toBeGreaterThanOrEqual(50);
    expect(answer.privacy).toMatchObject({ minGroupSize: 50, policyHash: t.room.collaboration('demo').hash });
  });

  it('binds parameters and refuses bad ones before anything runs', async () => {
    const run = (params: unknown) =>
      t.client('acme-analyst').send('POST', `${path}/queries`, { template: 'segments_by_country', params });
    expect(await refusal(run({ country: "GB' OR 1=1 --" }))).toMatchObject({
      status: 400,
      code: 'TEMPLATE_PARAMETERS_INVALID',
    });
    expect(await refusal(run({ country: 'GB', extra: 1 }))).toMatchObject({
      status: 400,
      code: 'TEMPLATE_PARAMETERS_INVALID',
    });
    expect(await refusal(run({}))).toMatchObject({ status: 400, code: 'TEMPLATE_PARAMETERS_INVALID' });
  });

  it('a changed template under the same name needs new signatures', async () => {
    const before = await t
      .client('acme-officer')
      .send<{ hash: string }>('GET', `${path}/templates/segments_by_country`);
    const changed = await t
      .client('acme-analyst')
      .send<{ hash: string; runnable: boolean }>(
        'POST',
        `${path}/templates`,
        proposal(SQL.replace('AS people', 'AS customers')),
      );
    expect(changed.hash).not.toBe(before.hash);
    expect(changed.runnable).toBe(false);
    expect(
      await refusal(review(t, 'acme-officer', 'segments_by_country', 'approve', undefined, before.hash)),
    ).toMatchObject({ status: 409, code: 'TEMPLATE_HASH_MISMATCH' });
  });

  it('an officer can reject, with a reason, and the rejection blocks the run', async () => {
    expect(await refusal(review(t, 'acme-officer', 'segments_by_country', 'reject'))).toMatchObject({
      status: 422,
      code: 'REASON_REQUIRED',
    });
    const rejected = await review(
      t,
      'acme-officer',
      'segments_by_country',
      'reject',
      'country is too fine-grained for this campaign',
    );
    expect(rejected.runnable).toBe(false);
    expect(rejected.reviews).toContainEqual(
      expect.objectContaining({
        member: 'acme',
        decision: 'reject',
        reason: 'country is too fine-grained for this campaign',
      }),
    );
  });

  it('asks only owners of the data read: a single-owner template refuses the other officer', async () => {
    await review(t, 'northwind-officer', 'reach_and_frequency');
    expect(
      (await t.client('acme-analyst').send<{ runnable: boolean }>('GET', `${path}/templates/reach_and_frequency`))
        .runnable,
    ).toBe(true);
    expect(await refusal(review(t, 'acme-officer', 'reach_and_frequency'))).toMatchObject({
      status: 403,
      code: 'NOT_A_DATA_OWNER',
    });
  });
});

describe('queries', () => {
  it('dry run answers the rewritten SQL and the report without running', async () => {
    const dry = await t
      .client('northwind-analyst')
      .send<{ dryRun: boolean; rewrittenSql: string; report: { threshold: { privacyUnits: string[] } } }>(
        'POST',
        `${path}/queries`,
        {
          sql: 'SELECT device, count(*) FROM publisher_impressions GROUP BY device',
          dryRun: true,
        },
      );
    expect(dry.dryRun).toBe(true);
    // The owner's dominance rule needs each person's rows per group: the groups are built from those.
    expect(dry.rewrittenSql).toContain('publisher_impressions.email_hash AS __cr_level_0');
    expect(dry.rewrittenSql).toContain('count(__cr_rows.__cr_level_0) AS __cr_units_0');
    expect(dry.report.threshold.privacyUnits).toEqual(['publisher_impressions.email_hash']);
  });

  it('groups by a select alias as DuckDB does', async () => {
    const answer = await t.client('acme-analyst').send<Answer>('POST', `${path}/queries`, {
      sql: 'SELECT country AS c, count(*) AS n FROM advertiser_customers GROUP BY c ORDER BY c',
    });
    expect(answer.columns.map((c) => c.name)).toEqual(['c', 'n']);
    expect(answer.rows.map((r) => r[0])).toEqual(['DE', 'ES', 'FR', 'GB', 'IE', 'NL']);
  });

  it('suppresses groups under the threshold and says how many, never which', async () => {
    const answer = await t.client('acme-analyst').send<Answer>('POST', `${path}/queries`, {
      sql: "SELECT signup_date, count(*) AS n FROM advertiser_customers WHERE country = 'GB' GROUP BY signup_date",
    });
    expect(answer.rows).toEqual([]);
    expect(answer.privacy.groupsSuppressed).toBeGreaterThan(100);
  });

  it('refuses analysts of members that are not result receivers, and principals without the analyst role', async () => {
    expect(
      await refusal(
        t.client('acme-officer').send('POST', `${path}/queries`, { sql: 'SELECT count(*) FROM advertiser_customers' }),
      ),
    ).toMatchObject({ status: 403, code: 'ROLE_REQUIRED' });
    const other = await startTestRoom({
      edit: (p) => {
        p.datasets[0]!.rules.resultReceivers = ['acme'];
      },
    });
    try {
      await other.acceptAll();
      expect(
        await refusal(
          other
            .client('northwind-analyst')
            .send('POST', `${path}/queries`, { sql: 'SELECT count(*) FROM advertiser_customers', dryRun: true }),
        ),
      ).toMatchObject({ status: 403, code: 'NOT_A_RESULT_RECEIVER' });
    } finally {
      await other.close();
    }
  });

  it('records runs and refusals in the audit chain with who and what', async () => {
    await refusal(
      t
        .client('acme-analyst')
        .send('POST', `${path}/queries`, { sql: 'SELECT phone, count(*) FROM advertiser_customers GROUP BY phone' }),
    );
    const audit = await t
      .client('northwind-officer')
      .send<{ entries: { actor: string; action: string; details: Record<string, unknown> }[] }>('GET', `${path}/audit`);
    const refused = audit.entries.filter((e) => e.action === 'query.refused').at(-1);
    expect(refused).toMatchObject({
      actor: 'acme-analyst',
      details: { codes: expect.arrayContaining(['COLUMN_BLOCKED']) },
    });
    const run = audit.entries.filter((e) => e.action === 'query.run').at(-1);
    expect(run?.details).toMatchObject({
      datasets: ['advertiser_customers'],
      policyHash: t.room.collaboration('demo').hash,
    });
  });
});

describe('counting people cheaply where it is exact', () => {
  const dry = (sql: string) =>
    t.client('acme-analyst').send<{ rewrittenSql: string }>('POST', `${path}/queries`, { sql, dryRun: true });

  it('counts people without DISTINCT only where each row, or each per-person row, is one person', async () => {
    // advertiser_customers has one row per email_hash; publisher_impressions has many.
    expect((await dry('SELECT country, count(*) FROM advertiser_customers GROUP BY country')).rewrittenSql).toContain(
      'count(advertiser_customers.email_hash) AS __cr_units_0',
    );
    // Many rows per person: counted over rows first grouped per (device, person), which the dominance rule needs too.
    const many = (await dry('SELECT device, count(*) FROM publisher_impressions GROUP BY device')).rewrittenSql;
    expect(many).toContain('GROUP BY device, publisher_impressions.email_hash');
    expect(many).toContain('count(__cr_rows.__cr_level_0) AS __cr_units_0');
    const join = (
      await dry(
        'SELECT p.device, count(*) FROM advertiser_customers c JOIN publisher_impressions p ON c.email_hash = ' +
          'p.email_hash GROUP BY p.device',
      )
    ).rewrittenSql;
    // INNER JOIN ON c.email_hash = p.email_hash: one person key counts the people of both datasets.
    expect(join).toContain('GROUP BY p.device, c.email_hash)');
    expect(join).toContain('count(__cr_rows.__cr_level_0) AS __cr_units_0');
    expect(join).toContain('count(__cr_rows.__cr_level_0) AS __cr_units_1');
    expect(
      (
        await dry(
          'WITH v AS (SELECT country FROM advertiser_customers) SELECT country, count(*) FROM v GROUP BY country',
        )
      ).rewrittenSql,
    ).toContain('GROUP BY country, v.__cr_unit_0)');
  });
});
