import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RoomRequestError } from '../../src/client/room-client.ts';
import { startTestRoom, uploadDemoDataset, type TestRoom } from '../support/test-room.ts';

/**
 * Issue #9.5: the checker, DP planning and budgets, PSI rules and steps, and the validation of
 * bodies and documents all refuse in one shape, `details.diagnostics`, each with a code, a
 * sentence, the rule that refused and the data a client can act on.
 */
let t: TestRoom;
const path = '/v1/collaborations/demo';

beforeAll(async () => {
  t = await startTestRoom({
    edit: (p) => {
      p.datasets[1]!.rules.dp!.budget.epsilon = 0.5;
    },
  });
  await t.acceptAll();
  for (const dataset of ['advertiser_customers', 'publisher_impressions']) await uploadDemoDataset(t, dataset);
});
afterAll(async () => t.close());

interface Diagnostic {
  code: string;
  message: string;
  rule: string;
  data: Record<string, unknown>;
  position?: { line: number; column: number };
}

async function refused(
  promise: Promise<unknown>,
): Promise<{ status: number; code: string; details: Record<string, unknown>; diagnostics: Diagnostic[] }> {
  try {
    await promise;
  } catch (error) {
    if (!(error instanceof RoomRequestError)) throw error;
    const diagnostics = error.details['diagnostics'] as Diagnostic[];
    expect(Array.isArray(diagnostics) && diagnostics.length > 0, `${error.code} lists its diagnostics`).toBe(true);
    for (const d of diagnostics) {
      expect(Object.keys(d).sort()).toEqual(
        ['code', 'data', 'message', 'rule', ...(d.position ? ['position'] : [])].sort(),
      );
      expect(
        typeof d.message === 'string' && d.message.length > 0 && typeof d.rule === 'string' && d.rule.length > 0,
      ).toBe(true);
      expect(typeof d.data).toBe('object');
    }
    expect(error.details).not.toHaveProperty('problems');
    return { status: error.status, code: error.code, details: error.details, diagnostics };
  }
  throw new Error('expected a refusal');
}

const query = (principal: string, body: object) => t.client(principal).send('POST', `${path}/queries`, body);

describe('one refusal shape', () => {
  it('a query the checker refuses: QUERY_REFUSED, positions and the dataset and column as data', async () => {
    const r = await refused(
      query('acme-analyst', { sql: 'SELECT country,\n  phone FROM advertiser_customers GROUP BY country, phone' }),
    );
    expect([r.status, r.code]).toEqual([422, 'QUERY_REFUSED']);
    expect(r.diagnostics[0]).toMatchObject({
      code: 'COLUMN_BLOCKED',
      data: { dataset: 'advertiser_customers', column: 'phone' },
      position: { line: 2, column: 3 },
    });
  });

  it('DP parameters: the first rule as the code, every problem listed, the policy rule named', async () => {
    const r = await refused(
      query('northwind-analyst', {
        sql: 'SELECT campaign, count(*) AS n FROM publisher_impressions GROUP BY campaign',
        dp: { epsilon: 50, delta: 0.5 },
      }),
    );
    expect([r.status, r.code]).toEqual([400, 'DP_EPSILON_TOO_LARGE']);
    expect(r.diagnostics.map((d) => d.code)).toEqual(['DP_EPSILON_TOO_LARGE', 'DP_DELTA_TOO_LARGE']);
    expect(r.diagnostics[0]).toMatchObject({
      rule: 'datasets.publisher_impressions.rules.dp',
      data: { epsilon: 50, max: 1 },
    });
    expect(r.details['epsilon']).toBe(50);
  });

  it('an exhausted budget: 429 with what remains, as data, under the budget rule', async () => {
    const sql = 'SELECT campaign, count(*) AS n FROM publisher_impressions GROUP BY campaign';
    await query('northwind-analyst', { sql, dp: { epsilon: 0.4 } });
    const r = await refused(query('northwind-analyst', { sql, dp: { epsilon: 0.4 } }));
    expect([r.status, r.code]).toEqual([429, 'DP_BUDGET_EXHAUSTED']);
    expect(r.diagnostics[0]).toMatchObject({
      rule: 'datasets.publisher_impressions.rules.dp.budget',
      data: { dataset: 'publisher_impressions', requested: { epsilon: 0.4 } },
    });
    expect((r.diagnostics[0]!.data['remaining'] as { epsilon: number }).epsilon).toBeCloseTo(0.1, 9);
  });

  it('a request body that fails its schema: every field by JSON pointer', async () => {
    const r = await refused(query('acme-analyst', { sql: 7, dryRun: 'yes' }));
    expect([r.status, r.code]).toEqual([400, 'INVALID_REQUEST_BODY']);
    expect(r.diagnostics.every((d) => d.code === 'INVALID_VALUE')).toBe(true);
    expect(r.diagnostics.map((d) => d.data['pointer']).sort()).toEqual(['/dryRun', '/sql']);
  });

  it('a template document, and a template whose parameters and SQL disagree', async () => {
    const bad = await refused(
      t.client('acme-analyst').send('POST', `${path}/templates`, { name: 'x', collaboration: 'demo', sql: 'SELECT 1' }),
    );
    expect([bad.status, bad.code]).toEqual([422, 'TEMPLATE_INVALID']);
    expect(bad.diagnostics.map((d) => d.data['pointer'])).toContain('/parameters');
    const sql = 'SELECT country, count(*) AS n FROM advertiser_customers WHERE country = $country GROUP BY country';
    const r = await refused(
      t
        .client('acme-analyst')
        .send('POST', `${path}/templates`, { name: 'y', collaboration: 'demo', description: 'd', sql, parameters: {} }),
    );
    expect([r.status, r.code]).toEqual([422, 'TEMPLATE_INVALID']);
    expect(r.diagnostics[0]).toMatchObject({ code: 'INVALID_VALUE', data: { pointer: '/parameters/country' } });
  });

  it('PSI: a member acting in the other role, and a step out of order', async () => {
    const session = await t
      .client('acme-analyst')
      .send<{ id: string }>('POST', `${path}/psi`, { partner: 'northwind' });
    const role = await refused(t.client('acme-analyst').send('GET', `${path}/psi/${session.id}/request`));
    expect([role.status, role.code]).toEqual([403, 'PSI_WRONG_ROLE']);
    expect(role.diagnostics[0]).toMatchObject({ rule: 'psi.server', data: { sessionId: session.id, role: 'server' } });
    const step = await refused(t.client('acme-analyst').send('GET', `${path}/psi/${session.id}/setup`));
    expect([step.status, step.code]).toEqual([409, 'PSI_WRONG_STEP']);
    expect(step.diagnostics[0]!.data).toMatchObject({ state: 'opened' });
  });
});
