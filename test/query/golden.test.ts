import { readFile, writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPlanner } from './support-planner.ts';

/**
 * Golden cases for parse → check → rewrite: SQL in; the exact rewritten SQL, or the exact
 * diagnostic codes, out. A change in either is a change in what the room releases: review it.
 */
interface GoldenCase {
  readonly name: string;
  readonly sql: string;
  readonly rewritten?: string;
  readonly parameters?: readonly string[];
  readonly codes?: readonly string[];
  /** plan in DP mode: the rewritten SQL is the contribution-bounded query */
  readonly mode?: 'dp';
}

const cases = JSON.parse(await readFile('test/query/golden/expected.json', 'utf8')) as GoldenCase[];
let planner: Awaited<ReturnType<typeof openPlanner>>;

beforeAll(async () => {
  planner = await openPlanner();
});
afterAll(async () => planner.close());

// UPDATE_GOLDEN=1 rewrites expected.json from what the planner produces now: review the diff.
const update = process.env.UPDATE_GOLDEN === '1';
afterAll(async () => {
  if (update) await writeFile('test/query/golden/expected.json', `${JSON.stringify(cases, null, 2)}\n`);
});

describe('checker and rewriter golden cases', () => {
  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const { plan, sql } = await planner.plan(c.sql, true, c.mode ? { mode: c.mode } : {});
    if (update) {
      const mutable = c as { rewritten?: string; codes?: readonly string[] };
      if (plan.ok) mutable.rewritten = sql;
      else mutable.codes = plan.diagnostics.map((d) => d.code);
      return;
    }
    if (c.codes) {
      expect(plan.ok).toBe(false);
      if (!plan.ok) expect(plan.diagnostics.map((d) => d.code)).toEqual(c.codes);
    } else {
      expect(plan.ok ? '' : JSON.stringify(plan.diagnostics)).toBe('');
      expect(sql).toBe(c.rewritten);
    }
  });

  it('locates each diagnostic in the SQL and names the rule and column', async () => {
    const sql = 'SELECT country,\n       phone\nFROM advertiser_customers GROUP BY country, phone';
    const { plan } = await planner.plan(sql);
    expect(plan.ok).toBe(false);
    if (plan.ok) return;
    const first = plan.diagnostics[0];
    expect(first).toMatchObject({
      code: 'COLUMN_BLOCKED',
      data: { dataset: 'advertiser_customers', column: 'phone' },
      position: { line: 2, column: 8 },
    });
    expect(first?.rule).toContain('advertiser_customers.columns.phone');
  });

  it('refuses ad hoc SQL on a dataset whose owner allows only templates', async () => {
    const original = planner.collaboration.datasets.get('advertiser_customers')!.rules;
    const { planQuery } = await import('../../src/query/query-plan.ts');
    const templatesOnly = {
      ...planner.collaboration,
      datasets: new Map(
        [...planner.collaboration.datasets].map(([k, d]) => [k, { ...d, rules: { ...original, adHocQueries: false } }]),
      ),
    };
    const sql = 'SELECT country, count(*) FROM advertiser_customers GROUP BY country';
    const serialized = JSON.parse(await planner.engine.serialize(sql));
    const plan = planQuery(templatesOnly, sql, serialized, { adHoc: true });
    expect(plan.ok ? [] : plan.diagnostics.map((d) => d.code)).toEqual(['AD_HOC_NOT_ALLOWED']);
    expect(planQuery(templatesOnly, sql, JSON.parse(await planner.engine.serialize(sql)), { adHoc: false }).ok).toBe(
      true,
    );
  });
});
