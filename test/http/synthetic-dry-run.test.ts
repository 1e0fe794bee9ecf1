import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEntry } from '../../src/audit/audit-entry.ts';
import { refusal } from '../support/refusal.ts';
import { startTestRoom, type TestRoom } from '../support/test-room.ts';

// Issue #12: a reviewer's dry run of a template on synthetic rows. Nothing is uploaded in this room,
// so any row in the answer can only have come from the synthetic tables; those are gone afterwards.
const path = '/v1/collaborations/demo';
let t: TestRoom;
const SQL =
  'SELECT p.segment, count(DISTINCT c.email_hash) AS people FROM advertiser_customers c JOIN publisher_impressions ' +
  'p ON c.email_hash = p.email_hash WHERE c.country = $country GROUP BY p.segment';

interface DryRun {
  synthetic: { people: number; datasets: string[] };
  params: Record<string, unknown>;
  columns: { name: string }[];
  rows: unknown[][];
  groupsSuppressed: number;
  auditSeq: number;
}

beforeAll(async () => {
  t = await startTestRoom({ config: { templatesDirectory: resolve('sql') } });
  await t.acceptAll();
  await t.client('acme-analyst').send('POST', `${path}/templates`, {
    name: 'segments_by_country',
    collaboration: 'demo',
    description: 'Overlap by segment for one country',
    sql: SQL,
    parameters: { country: { type: 'enum', values: ['GB', 'DE'] } },
  });
}, 60_000);
afterAll(async () => t.close());

describe('dry run on synthetic rows', () => {
  it('releases the template’s shape under the real thresholds, from no stored data, and audits it', async () => {
    expect(t.internals.engine.tableExists('demo', 'advertiser_customers')).toBe(false);
    const run = await t
      .client('northwind-officer')
      .send<DryRun>('POST', `${path}/templates/segments_by_country/dry-run`, { params: { country: 'DE' } });
    expect(run.params).toEqual({ country: 'DE' });
    expect(run.synthetic.datasets.sort()).toEqual(['advertiser_customers', 'publisher_impressions']);
    expect(run.columns.map((c) => c.name)).toEqual(['segment', 'people']);
    expect(run.rows.length).toBeGreaterThan(0);
    // Every released group passes the group minimum the policy sets (50), counted on the synthetic rows.
    for (const [, people] of run.rows) expect(Number(people)).toBeGreaterThanOrEqual(50);
    // The synthetic schema is dropped; the real tables were never created.
    const schemas = await t.internals.engine.query(
      "SELECT count(*) FROM information_schema.schemata WHERE schema_name LIKE '__synthetic_%'",
    );
    expect(Number(schemas.rows[0]?.[0])).toBe(0);
    expect(t.internals.engine.tableExists('demo', 'advertiser_customers')).toBe(false);
    const { entries } = await t.client('acme-officer').send<{ entries: AuditEntry[] }>('GET', `${path}/audit`);
    expect(entries.find((e) => e.seq === run.auditSeq)).toMatchObject({
      actor: 'northwind-officer',
      action: 'template.dry_run',
      details: { template: 'segments_by_country', synthetic: true, params: { country: 'DE' } },
    });
  });

  it('defaults parameters to the first allowed value, and refuses ones outside the template', async () => {
    const run = await t
      .client('acme-analyst')
      .send<DryRun>('POST', `${path}/templates/segments_by_country/dry-run`, {});
    expect(run.params).toEqual({ country: 'GB' });
    expect(
      await refusal(
        t.client('acme-officer').send('POST', `${path}/templates/segments_by_country/dry-run`, {
          params: { country: 'FR' },
        }),
      ),
    ).toEqual({ status: 400, code: 'TEMPLATE_PARAMETERS_INVALID' });
  });

  it('shows suppression at work: small groups withheld, large ones released', async () => {
    await t.client('acme-analyst').send('POST', `${path}/templates`, {
      name: 'fine_grained',
      collaboration: 'demo',
      description: 'Too many dimensions for the group minimum',
      sql:
        'SELECT country, age_band, loyalty_tier, count(DISTINCT email_hash) AS people FROM advertiser_customers ' +
        'GROUP BY country, age_band, loyalty_tier',
      parameters: {},
    });
    const run = await t.client('acme-officer').send<DryRun>('POST', `${path}/templates/fine_grained/dry-run`, {});
    expect(run.groupsSuppressed).toBeGreaterThan(0);
    expect(run.rows.length).toBeGreaterThan(0);
    for (const row of run.rows) expect(Number(row[3])).toBeGreaterThanOrEqual(50);
  });

  it('is for the reviewers and the proposer only', async () => {
    expect(
      await refusal(t.client('northwind-analyst').send('POST', `${path}/templates/segments_by_country/dry-run`, {})),
    ).toEqual({ status: 403, code: 'NOT_A_REVIEWER' });
  });
});
