import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { RefusedError } from '../../src/errors/refused-error.ts';
import { parseCollaboration } from '../../src/policy/load-policies.ts';
import type { CollaborationDocument, ExtractRules } from '../../src/policy/policy-document.ts';

const demo = JSON.parse(readFileSync('policies/demo.json', 'utf8')) as CollaborationDocument;

/** The demo policy with extract rules on advertiser_customers. */
function withExtract(rules: unknown): unknown {
  const doc = structuredClone(demo) as unknown as { datasets: { name: string; rules: Record<string, unknown> }[] };
  const customers = doc.datasets.find((d) => d.name === 'advertiser_customers');
  if (!customers) throw new Error('demo policy without advertiser_customers');
  customers.rules.extract = rules;
  return doc;
}

const valid: ExtractRules = {
  k: 10,
  l: { attribute: 'loyalty_tier', l: 2 },
  maxSuppression: 0.05,
  attributes: ['loyalty_tier', 'converted'],
  quasiIdentifiers: {
    birth_year: { bands: [5, 10, 20] },
    zip_code: { prefix: [3, 1] },
    signup_date: { dateTrunc: ['month', 'quarter', 'year'] },
    age_band: { groups: [{ '18-24': '18-34', '25-34': '18-34', '35-44': '35-54', '45-54': '35-54' }] },
  },
  recipients: ['acme'],
};

/** Each problem as "pointer: message", or [] when the policy loads. */
function problems(rules: unknown): string[] {
  try {
    parseCollaboration(withExtract(rules));
    return [];
  } catch (error) {
    const refused = error as RefusedError;
    expect(refused.code).toBe('POLICY_INVALID');
    return refused.diagnostics.map((d) => `${(d.data as { pointer: string }).pointer}: ${d.message}`);
  }
}
const at = '/datasets/0/rules/extract';

describe('extract rules in the policy', () => {
  it('loads quasi-identifier hierarchies of every kind, with released attributes and l-diversity', () => {
    expect(problems(valid)).toEqual([]);
    const collaboration = parseCollaboration(withExtract(valid));
    expect(collaboration.datasets.get('advertiser_customers')?.rules.extract?.k).toBe(10);
  });

  it('never generalises or releases an identifier, a blocked column or an unknown one', () => {
    const found = problems({
      ...valid,
      attributes: ['phone', 'zip_code', 'nothing', 'loyalty_tier'],
      quasiIdentifiers: { email_hash: { prefix: [3] }, zip_code: { prefix: [3] } },
    });
    expect(found).toEqual([
      `${at}/quasiIdentifiers/email_hash: "email_hash" is an identifier: it never leaves, even generalised`,
      `${at}/attributes/0: "phone" is blocked: it never leaves`,
      `${at}/attributes/1: "zip_code" is a quasi-identifier: it leaves only generalised`,
      `${at}/attributes/1: "zip_code" is a quasi-identifier: it cannot also be released as stored`,
      `${at}/attributes/2: attribute "nothing" is not a column of "advertiser_customers"`,
    ]);
  });

  it('refuses hierarchies whose levels do not nest or do not fit the column type', () => {
    const found = problems({
      ...valid,
      quasiIdentifiers: {
        birth_year: { bands: [5, 7] },
        zip_code: { prefix: [1, 3] },
        signup_date: { dateTrunc: ['year', 'month'] },
        age_band: {
          groups: [
            { '18-24': 'young', '25-34': 'young' },
            { '18-24': 'a', '25-34': 'b' },
          ],
        },
        country: { bands: [10] },
        loyalty_tier: { groups: [{ gold: 'high' }, { gold: 'high', silver: 'high' }] },
      },
      attributes: ['converted'],
      l: undefined,
    });
    expect(found).toEqual([
      `${at}/quasiIdentifiers/birth_year: band width 7 must be a larger multiple of 5, so that bands nest`,
      `${at}/quasiIdentifiers/zip_code: prefix length 3 after 1: each level keeps fewer characters`,
      `${at}/quasiIdentifiers/signup_date: "month" after "year": date levels go from finer to coarser ` +
        '(month, quarter, year)',
      `${at}/quasiIdentifiers/age_band: level 2 splits level 1's group "young" ("25-34" goes to "b", not "a")`,
      `${at}/quasiIdentifiers/country: bands generalise numbers; "country" is VARCHAR`,
      `${at}/quasiIdentifiers/loyalty_tier: level 2 gives "silver" the group "high", but level 1 generalised it to *`,
    ]);
  });

  it('needs the l and t attributes among the released ones, and recipients among the members', () => {
    expect(problems({ ...valid, t: { attribute: 'purchases', t: 0.2 }, recipients: ['acme', 'globex'] })).toEqual([
      `${at}/recipients/1: recipient "globex" is not a member of this collaboration`,
      `${at}/t/attribute: the sensitive attribute "purchases" must be one of the released attributes`,
      `${at}/t/attribute: l and t must protect the same sensitive attribute ("loyalty_tier"): one attribute ` +
        'per dataset is checked',
    ]);
    expect(problems({ ...valid, t: { attribute: 'loyalty_tier', t: 0.2 } })).toEqual([]);
  });

  it('bounds the lattice the search walks', () => {
    const prefixes = { prefix: [8, 7, 6, 5, 4, 3, 2, 1] };
    const bands = { bands: [2, 4, 8, 16, 32, 64, 128, 256] };
    const wide = {
      ...Object.fromEntries(['zip_code', 'country', 'loyalty_tier', 'age_band'].map((c) => [c, prefixes])),
      birth_year: bands,
      purchases: bands,
    };
    // Each: as stored, 8 levels and *, so 10 nodes; 10^6 in all.
    expect(problems({ ...valid, quasiIdentifiers: wide, attributes: [], l: undefined })).toEqual([
      `${at}/quasiIdentifiers: the hierarchies make 1000000 generalisations; at most 100000 are searched`,
    ]);
  });

  it('is schema-checked first: k at least 2, one known hierarchy kind', () => {
    const found = problems({ ...valid, k: 1, quasiIdentifiers: { zip_code: { truncate: 3 } } });
    expect(found.some((p) => p.startsWith(`${at}/k:`))).toBe(true);
    expect(found.some((p) => p.startsWith(`${at}/quasiIdentifiers/zip_code`))).toBe(true);
  });
});
