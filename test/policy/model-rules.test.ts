import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { RefusedError } from '../../src/errors/refused-error.ts';
import { parseCollaboration } from '../../src/policy/load-policies.ts';
import type { CollaborationDocument, ModelRules } from '../../src/policy/policy-document.ts';

const demo = JSON.parse(readFileSync('policies/demo.json', 'utf8')) as CollaborationDocument;

/** The demo policy with these model rules on advertiser_customers. */
function withModel(rules: unknown): unknown {
  const doc = structuredClone(demo) as unknown as { datasets: { name: string; rules: Record<string, unknown> }[] };
  doc.datasets.find((d) => d.name === 'advertiser_customers')!.rules.model = rules;
  return doc;
}

const valid: ModelRules = {
  features: { purchases: [0, 50], purchase_value: [0, 2000] },
  categories: { country: ['GB', 'DE', 'FR', 'NL', 'IE', 'ES'], loyalty_tier: ['none', 'silver', 'gold', 'platinum'] },
  labels: { converted: [0, 1] },
  minPeople: 1000,
  dpRequired: true,
  maxEpsilonPerModel: 1,
  recipients: ['northwind'],
};

function problems(rules: unknown): string[] {
  try {
    parseCollaboration(withModel(rules));
    return [];
  } catch (error) {
    const refused = error as RefusedError;
    expect(refused.code).toBe('POLICY_INVALID');
    return refused.diagnostics.map((d) => `${(d.data as { pointer: string }).pointer}: ${d.message}`);
  }
}
const at = '/datasets/0/rules/model';

describe('model rules in the policy', () => {
  it('load when features, categories and labels are usable columns with bounds', () => {
    expect(problems(valid)).toEqual([]);
    expect(parseCollaboration(withModel(valid)).datasets.get('advertiser_customers')?.rules.model).toEqual(valid);
  });

  it('refuse identifiers, blocked and quasi-identifier columns, text with bounds, bad bounds and strangers', () => {
    expect(
      problems({
        ...valid,
        features: { email_hash: [0, 1], phone: [0, 1], birth_year: [1900, 2020], country: [0, 1], purchases: [5, 5] },
        categories: { purchases: ['1'], age_band: ['18-24'] },
        recipients: ['globex'],
      }),
    ).toEqual([
      `${at}/features/email_hash: "email_hash" is identifier: it never feeds a model`,
      `${at}/features/phone: "phone" is blocked: it never feeds a model`,
      `${at}/features/birth_year: "birth_year" is a quasi-identifier: it never feeds a model`,
      `${at}/features/country: "country" is VARCHAR: a feature or label with bounds must be numeric (or a category)`,
      `${at}/features/purchases: bounds must satisfy lower < upper, got [5, 5]`,
      `${at}/categories/purchases: "purchases" is a metric: only dimensions are one-hot encoded`,
      `${at}/categories/purchases: "purchases" is a numeric feature already`,
      `${at}/recipients/0: recipient "globex" is not a member of this collaboration`,
    ]);
  });

  it('per-person aggregates: a count reads no column, the others a usable numeric column, bounds ordered', () => {
    const perPerson = {
      orders: { aggregate: 'count', bounds: [0, 20] },
      spend: { aggregate: 'sum', column: 'purchase_value', bounds: [0, 5000] },
      counted: { aggregate: 'count', column: 'purchases', bounds: [0, 5] },
      bare: { aggregate: 'max', bounds: [0, 5] },
      secret: { aggregate: 'avg', column: 'email_hash', bounds: [0, 1] },
      flat: { aggregate: 'min', column: 'purchases', bounds: [3, 1] },
    };
    expect(problems({ ...valid, perPerson })).toEqual([
      `${at}/perPerson/counted: a count counts the person's rows: it names no column`,
      `${at}/perPerson/bare: max needs the column it reads`,
      `${at}/perPerson/secret/column: "email_hash" is identifier: it never feeds a model`,
      `${at}/perPerson/flat: bounds must satisfy lower < upper, got [3, 1]`,
    ]);
    expect(problems({ ...valid, perPerson: { x: { aggregate: 'median', bounds: [0, 1] } } })[0]).toMatch(
      /perPerson\/x\/aggregate: must be one of: "count", "sum"/,
    );
  });

  it('need a label, a minimum of people and bounds of two numbers (schema)', () => {
    const { labels: _labels, ...noLabels } = valid;
    expect(problems(noLabels)).toEqual([`${at}/labels: is required but missing`]);
    expect(problems({ ...valid, minPeople: 10 })[0]).toMatch(/minPeople: must be >= 100/);
    expect(problems({ ...valid, features: { purchases: [0] } })[0]).toMatch(
      /features\/purchases: must NOT have fewer than 2 items/,
    );
  });
});
