import { DEMO_MODEL } from '../../src/cli/demo/demo-model.ts';
import { Matrix, QrDecomposition } from 'ml-matrix';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkedModelTemplate, type ModelTemplateDocument } from '../../src/model/model-template.ts';
import { trainModel } from '../../src/release/model-release.ts';
import { refusal } from '../support/refusal.ts';
import { startTestRoom, uploadDemoDataset, type TestRoom } from '../support/test-room.ts';

let t: TestRoom;
const template = (overrides: Partial<ModelTemplateDocument> = {}): ModelTemplateDocument => ({
  ...(structuredClone(DEMO_MODEL) as unknown as ModelTemplateDocument),
  name: 'conversion',
  ...overrides,
});

beforeAll(async () => {
  // DP stays the demo's default; this room lets non-DP models through to compare against raw rows.
  t = await startTestRoom({
    edit: (policy) => {
      policy.datasets.find((d) => d.name === 'advertiser_customers')!.rules.model!.dpRequired = false;
    },
  });
  await t.acceptAll();
  await uploadDemoDataset(t, 'advertiser_customers');
});
afterAll(async () => t.close());

const train = (doc: ModelTemplateDocument) => {
  const collaboration = t.room.collaboration('demo');
  const checked = checkedModelTemplate(doc, collaboration);
  return trainModel(t.internals.release, collaboration, collaboration.datasets.get(doc.dataset)!, checked);
};

describe('model templates against the owner’s rules', () => {
  it('refuse what the rules do not allow, each naming its rule', async () => {
    const collaboration = t.room.collaboration('demo');
    const refused = async (doc: ModelTemplateDocument) => {
      try {
        checkedModelTemplate(doc, collaboration);
        return 'ACCEPTED';
      } catch (error) {
        const { code, diagnostics } = error as { code: string; diagnostics: { rule: string }[] };
        return `${code} ${diagnostics[0]?.rule}`;
      }
    };
    expect(await refused(template({ features: ['email_hash'] }))).toBe(
      'MODEL_NOT_ALLOWED datasets.advertiser_customers.rules.model.features',
    );
    expect(await refused(template({ label: 'purchases' }))).toBe(
      'MODEL_NOT_ALLOWED datasets.advertiser_customers.rules.model.labels',
    );
    expect(await refused(template({ recipient: 'acme' }))).toBe(
      'MODEL_NOT_A_RECIPIENT datasets.advertiser_customers.rules.model.recipients',
    );
    expect(await refused(template({ dp: { epsilon: 5 } }))).toBe(
      'MODEL_DP_REQUIRED datasets.advertiser_customers.rules.model.maxEpsilonPerModel',
    );
    expect(await refused(template({ model: 'linear' }))).toBe(
      'MODEL_DP_REQUIRED datasets.advertiser_customers.rules.model.dpRequired',
    );
    expect(await refused(template({ dataset: 'publisher_impressions' }))).toBe(
      'MODEL_NOT_ALLOWED datasets.publisher_impressions.rules.model',
    );
  });
});

describe('training inside the room', () => {
  it('fits a linear model equal to a QR solve of the raw rows, clipped and one-hot encoded by the policy', async () => {
    const { dp: _dp, ...noDp } = template({ model: 'linear', label: 'converted' });
    const model = await train(noDp);
    expect(model.dp).toBeNull();
    expect(model.features.map((f) => (f.encoding === 'one-hot' ? `${f.name}=${f.level}` : f.name))).toEqual([
      '(intercept)',
      'purchases',
      'purchase_value',
      ...['GB', 'DE', 'FR', 'NL', 'IE', 'ES'].map((c) => `country=${c}`),
      ...['none', 'silver', 'gold', 'platinum'].map((l) => `loyalty_tier=${l}`),
    ]);
    // The oracle: raw rows, encoded in JavaScript, solved by QR. The one-hot blocks are collinear with the
    // intercept, so compare fitted values (unique) rather than coefficients (not).
    const raw = await t.internals.engine.query(
      'SELECT purchases, purchase_value, country, loyalty_tier, converted FROM demo.advertiser_customers',
    );
    const clip = (v: number, lo: number, hi: number) => Math.max(lo, Math.min(hi, v));
    const design = raw.rows.map(([p, v, c, l]) => [
      1,
      clip(Number(p), 0, 50),
      clip(Number(v), 0, 2000),
      ...['GB', 'DE', 'FR', 'NL', 'IE', 'ES'].map((x) => (c === x ? 1 : 0)),
      ...['none', 'silver', 'gold', 'platinum'].map((x) => (l === x ? 1 : 0)),
    ]);
    const y = raw.rows.map((r) => Number(r[4]));
    // Drop the last level of each block for the oracle's full-rank solve; fitted values are the same.
    const reduced = design.map((row) => row.filter((_, i) => i !== 8 && i !== 12));
    const qr = new QrDecomposition(new Matrix(reduced)).solve(Matrix.columnVector(y)).to1DArray();
    const fitted = (row: number[], beta: readonly number[]) => row.reduce((s, v, i) => s + v * beta[i]!, 0);
    for (const [i, row] of design.entries())
      if (i % 50 === 0) expect(fitted(row, model.coefficients)).toBeCloseTo(fitted(reduced[i]!, qr), 4);
    expect(model.people).toBe(5000);
  });

  it('trains a DP logistic model by objective perturbation in a few passes, releasing no count', async () => {
    const passes: number[] = [];
    const collaboration = t.room.collaboration('demo');
    const model = await trainModel(
      t.internals.release,
      collaboration,
      collaboration.datasets.get('advertiser_customers')!,
      checkedModelTemplate(template(), collaboration),
      (n) => passes.push(n),
    );
    expect(model.dp?.epsilon).toBe(1);
    expect(model.people).toBeUndefined();
    expect(model.coefficients).toHaveLength(13);
    expect(model.coefficients.every(Number.isFinite)).toBe(true);
    expect(passes.length).toBe(model.passes);
    expect(model.passes).toBeLessThanOrEqual(12);
  });

  it('refuses too few people with the rule', async () => {
    const small = await startTestRoom({
      edit: (policy) => {
        policy.datasets.find((d) => d.name === 'advertiser_customers')!.rules.model!.minPeople = 10_000;
      },
    });
    try {
      await small.acceptAll();
      await uploadDemoDataset(small, 'advertiser_customers');
      const collaboration = small.room.collaboration('demo');
      const attempt = trainModel(
        small.internals.release,
        collaboration,
        collaboration.datasets.get('advertiser_customers')!,
        checkedModelTemplate(template(), collaboration),
      );
      expect(await refusal(attempt)).toEqual({ status: 0, code: 'MODEL_TOO_FEW_PEOPLE' });
    } finally {
      await small.close();
    }
  });
});
