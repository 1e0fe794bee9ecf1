import { DEMO_MODEL } from '../../src/cli/demo/demo-model.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromBase64, toBase64 } from '../../src/crypto/bytes.ts';
import { sign } from '../../src/crypto/signatures.ts';
import { approvalSigningBytes } from '../../src/query/template.ts';
import { checkModelCard } from '../../src/client/score-file.ts';
import type { ModelCard } from '../../src/room/models.ts';
import { modelCardDigest } from '../../src/model/model-card.ts';
import { refusal } from '../support/refusal.ts';
import { startTestRoom, uploadDemoDataset, type TestRoom } from '../support/test-room.ts';

let t: TestRoom;
const path = '/v1/collaborations/demo';
const template = (overrides: Record<string, unknown> = {}) => ({ ...DEMO_MODEL, name: 'conversion', ...overrides });

beforeAll(async () => {
  t = await startTestRoom();
  await t.acceptAll();
  await uploadDemoDataset(t, 'advertiser_customers');
  await uploadDemoDataset(t, 'publisher_impressions');
});
afterAll(async () => t.close());

describe('models over HTTP', () => {
  it('a modeler proposes, the owner’s officer approves, the modeler trains and gets a card; ε is charged', async () => {
    const proposed = await t
      .client('northwind-analyst')
      .send<{ hash: string; runnable: boolean; requiredMembers: string[] }>(
        'POST',
        `${path}/model-templates`,
        template(),
      );
    // The feature view reads Acme's customers and Northwind's impressions: both owners' officers approve.
    expect(proposed.requiredMembers).toEqual(['acme', 'northwind']);
    expect(
      await refusal(t.client('northwind-analyst').send('POST', `${path}/models`, { template: 'conversion' })),
    ).toEqual({
      status: 403,
      code: 'TEMPLATE_NOT_APPROVED',
    });
    const approve = (officer: string) =>
      t.client(officer).send<{ runnable: boolean }>('POST', `${path}/model-templates/conversion/approvals`, {
        hash: proposed.hash,
        decision: 'approve',
        signature: toBase64(sign(approvalSigningBytes('demo', proposed.hash, 'approve'), t.keys[officer]!.secretKey)),
      });
    expect((await approve('acme-officer')).runnable).toBe(false);
    expect(
      await refusal(t.client('northwind-analyst').send('POST', `${path}/models`, { template: 'conversion' })),
    ).toEqual({ status: 403, code: 'TEMPLATE_NOT_APPROVED' });
    const approved = await approve('northwind-officer');
    expect(approved.runnable).toBe(true);
    expect(await refusal(t.client('acme-analyst').send('POST', `${path}/models`, { template: 'conversion' }))).toEqual({
      status: 403,
      code: 'NOT_THE_RECIPIENT',
    });

    const card = await t
      .client('northwind-analyst')
      .send<ModelCard>('POST', `${path}/models`, { template: 'conversion' });
    expect(card).toMatchObject({
      kind: 'cleanroom-model-card',
      template: 'conversion',
      templateHash: proposed.hash,
      dataset: 'advertiser_customers',
      dataVersion: 1,
      recipient: 'northwind',
      model: 'logistic',
      dp: { epsilon: 1 },
    });
    expect(card.coefficients).toHaveLength(card.features.length);
    expect(card.people.exact).toBe(false);
    // The card meets its schema and carries the room's own signature.
    const room = await t.client('northwind-analyst').getPublic<{ signingPublicKey: string }>('/v1/room');
    expect(checkModelCard(card, fromBase64(room.signingPublicKey, 32))).toEqual(card);
    expect(card).not.toHaveProperty('standardErrors');
    // Charged to the recipient member's DP budget on the dataset, and audited with the card.
    const { budgets } = await t
      .client('northwind-analyst')
      .send<{ budgets: { dataset: string; spent: { epsilon: number } }[] }>('GET', `${path}/budget`);
    expect(budgets.find((b) => b.dataset === 'advertiser_customers')?.spent.epsilon).toBe(1);
    expect(budgets.find((b) => b.dataset === 'publisher_impressions')?.spent.epsilon).toBe(1);
    expect(card.joined).toEqual([{ dataset: 'publisher_impressions', dataVersion: 1 }]);
    expect(card.features.find((f) => f.name === 'impressions')).toEqual({
      name: 'impressions',
      encoding: 'numeric',
      bounds: [0, 20],
      from: { dataset: 'publisher_impressions', aggregate: 'count' },
    });
    const { entries } = await t
      .client('acme-officer')
      .send<{ entries: { seq: number; action: string; details: Record<string, unknown> }[] }>('GET', `${path}/audit`);
    const trained = entries.find((e) => e.action === 'model.trained');
    expect(trained?.seq).toBe(card.auditSeq);
    // The chain says what was trained and proves which card: a digest, not the card's released values.
    expect(trained?.details).toMatchObject({
      template: card.template,
      templateHash: card.templateHash,
      dataVersion: card.dataVersion,
      dp: card.dp,
      features: card.features,
      cardSha256: modelCardDigest(card),
    });
    for (const released of ['coefficients', 'standardErrors', 'people', 'passes', 'metrics'])
      expect(trained?.details).not.toHaveProperty(released);
  });

  it('refuses a model the rules do not allow, naming the rule', async () => {
    const refused = await refusal(
      t.client('northwind-analyst').send('POST', `${path}/model-templates`, template({ name: 'no_dp', dp: undefined })),
      { details: true },
    );
    expect(refused).toMatchObject({ status: 422, code: 'MODEL_DP_REQUIRED' });
    const leaky = await refusal(
      t
        .client('northwind-analyst')
        .send('POST', `${path}/model-templates`, template({ name: 'leaky', features: ['email_hash'] })),
    );
    expect(leaky).toEqual({ status: 422, code: 'MODEL_NOT_ALLOWED' });
    expect(
      await refusal(
        t.client('acme-provider').send('POST', `${path}/model-templates`, template({ name: 'by_provider' })),
      ),
    ).toEqual({ status: 403, code: 'ROLE_REQUIRED' });
  });

  it('refuses training once the member’s ε budget is spent, charging and auditing no model', async () => {
    // The demo budget is ε 3 a day on advertiser_customers; the first test spent 1.
    for (let i = 0; i < 2; i += 1)
      await t.client('northwind-analyst').send('POST', `${path}/models`, { template: 'conversion' });
    const audit = async () =>
      (await t.client('acme-officer').send<{ entries: { action: string }[] }>('GET', `${path}/audit`)).entries;
    const before = await audit();
    const refused = await refusal(
      t.client('northwind-analyst').send('POST', `${path}/models`, { template: 'conversion' }),
      { details: true },
    );
    expect(refused).toMatchObject({ status: 429, code: 'DP_BUDGET_EXHAUSTED' });
    const after = await audit();
    expect(after.filter((e) => e.action === 'model.trained')).toHaveLength(
      before.filter((e) => e.action === 'model.trained').length,
    );
    expect(after.filter((e) => e.action === 'budget.charged')).toHaveLength(
      before.filter((e) => e.action === 'budget.charged').length,
    );
  });

  it('refuses a malformed template document', async () => {
    expect(
      await refusal(t.client('northwind-analyst').send('POST', `${path}/model-templates`, template({ extra: 1 }))),
    ).toEqual({ status: 422, code: 'MODEL_TEMPLATE_INVALID' });
  });
});
