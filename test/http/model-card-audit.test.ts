import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_MODEL } from '../../src/cli/demo/demo-model.ts';
import { reviewTemplateAs } from '../../src/cli/commands/query-commands.ts';
import { toBase64 } from '../../src/crypto/bytes.ts';
import { generateSigningKeyPair, publicKeyText } from '../../src/crypto/signing-keys.ts';
import { sign } from '../../src/crypto/signatures.ts';
import type { PrincipalKey } from '../../src/keys/principal-key-file.ts';
import { acceptanceSigningBytes } from '../../src/room/policy-acceptance.ts';
import type { ModelCard } from '../../src/room/models.ts';
import { modelCardDigest } from '../../src/model/model-card.ts';
import { refusal } from '../support/refusal.ts';
import { startTestRoom, uploadDemoDataset, type TestRoom } from '../support/test-room.ts';

/*
 * Hostile review: a third member of the collaboration, neither the model's recipient nor an owner of the
 * data it read, was told "no model #n for you" by GET …/models/n, but read the whole card (coefficients,
 * metrics, people) from the audit chain, which every member reads: `model.trained` carried the card.
 * It now carries what was trained and a digest of the card.
 */
let t: TestRoom;
const path = '/v1/collaborations/demo';
const extra: Record<string, PrincipalKey> = {};

beforeAll(async () => {
  t = await startTestRoom({
    edit: (policy) => {
      const principals = ['contoso-analyst', 'contoso-officer'].map((id) => {
        const pair = generateSigningKeyPair();
        extra[id] = { ...pair, name: id, publicKeyText: publicKeyText(pair.publicKey) };
        return {
          id,
          publicKey: publicKeyText(pair.publicKey),
          roles: [id.endsWith('officer') ? 'officer' : 'analyst'],
        };
      });
      policy.members.push({ id: 'contoso', name: 'Contoso', principals } as never);
      for (const d of policy.datasets) d.rules.dp!.budget = { ...d.rules.dp!.budget, epsilon: 10 };
    },
  });
  Object.assign(t.keys, extra);
  await t.acceptAll();
  const hash = t.room.collaboration('demo').hash;
  await t.client('contoso-officer').send('POST', `${path}/acceptances`, {
    policyHash: hash,
    signature: toBase64(sign(acceptanceSigningBytes('demo', hash), extra['contoso-officer']!.secretKey)),
  });
  await uploadDemoDataset(t, 'advertiser_customers');
  await uploadDemoDataset(t, 'publisher_impressions');
}, 60_000);
afterAll(async () => t.close());

describe('a model card seen by a member the card is not for', () => {
  it('is refused by GET /models/n but must not be readable from the audit chain', async () => {
    const proposed = await t
      .client('northwind-analyst')
      .send<{ hash: string }>('POST', `${path}/model-templates`, DEMO_MODEL);
    for (const officer of ['acme-officer', 'northwind-officer'])
      await reviewTemplateAs(
        t.client(officer),
        t.keys[officer]!,
        'demo',
        DEMO_MODEL.name,
        'approve',
        proposed.hash,
        undefined,
        'model-templates',
      );
    const card = await t
      .client('northwind-analyst')
      .send<ModelCard>('POST', `${path}/models`, { template: DEMO_MODEL.name });

    const contoso = t.client('contoso-analyst');
    expect(await refusal(contoso.send('GET', `${path}/models/${card.auditSeq}`))).toEqual({
      status: 404,
      code: 'MODEL_NOT_FOUND',
    });
    expect((await contoso.send<{ models: ModelCard[] }>('GET', `${path}/models`)).models).toHaveLength(0);

    const { entries } = await contoso.send<{
      entries: { seq: number; action: string; details: Record<string, unknown> }[];
    }>('GET', `${path}/audit`);
    const trained = entries.find((e) => e.seq === card.auditSeq);
    expect(trained?.action).toBe('model.trained');
    for (const released of ['coefficients', 'standardErrors', 'people', 'passes', 'metrics'])
      expect(trained?.details).not.toHaveProperty(released);
    // No released number at all: not one coefficient or metric appears anywhere in the entry.
    const text = JSON.stringify(trained);
    for (const value of [...card.coefficients, card.metrics.auc].filter(
      (v) => typeof v === 'number' && !Number.isInteger(v),
    ))
      expect(text).not.toContain(String(value));
    // The owner's officer proves which card was released from the chain alone.
    const owner = await t.client('acme-officer').send<ModelCard>('GET', `${path}/models/${card.auditSeq}`);
    expect(trained?.details.cardSha256).toBe(modelCardDigest(owner));
  }, 60_000);
});
