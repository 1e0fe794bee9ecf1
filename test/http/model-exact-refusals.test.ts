import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_MODEL } from '../../src/cli/demo/demo-model.ts';
import { reviewTemplateAs } from '../../src/cli/commands/query-commands.ts';
import type { ModelCard } from '../../src/room/models.ts';
import { refusal } from '../support/refusal.ts';
import { startTestRoom, uploadDemoDataset, type TestRoom } from '../support/test-room.ts';

// Over HTTP, an exact model that would describe a handful of people is refused with its rule, releases
// no card, and leaves an audit entry saying why. The fixture's 5,000 customers hold a row whose
// leverage (0.027 with the demo's features) is over 1/50, the demo's group minimum.
let t: TestRoom;
const path = '/v1/collaborations/demo';
beforeAll(async () => {
  t = await startTestRoom({
    edit: (policy) => {
      policy.datasets.find((d) => d.name === 'advertiser_customers')!.rules.model!.dpRequired = false;
    },
  });
  await t.acceptAll();
  await uploadDemoDataset(t, 'advertiser_customers');
}, 60_000);
afterAll(async () => t.close());

describe('an exact model that would describe a few people, over HTTP', () => {
  it('is refused 422 naming its rule; no card, the audit says why, the budget is untouched', async () => {
    const { joined: _joined, dp: _dp, ...alone } = DEMO_MODEL;
    const doc = { ...alone, name: 'exact_conversion' };
    const modeler = t.client('northwind-analyst');
    const proposed = await modeler.send<{ hash: string }>('POST', `${path}/model-templates`, doc);
    await reviewTemplateAs(
      t.client('acme-officer'),
      t.keys['acme-officer']!,
      'demo',
      doc.name,
      'approve',
      proposed.hash,
      undefined,
      'model-templates',
    );
    const budget = () => modeler.send('GET', `${path}/budget`).then(JSON.stringify);
    const before = await budget();
    const refused = await refusal(modeler.send('POST', `${path}/models`, { template: doc.name }), { details: true });
    expect(refused).toMatchObject({ status: 422, code: 'MODEL_PERSON_SET_APART' });
    expect(JSON.stringify(refused)).toContain('datasets.advertiser_customers.rules.minGroupSize');
    // No value of any row in the answer: the rule, the dataset and the minimum only.
    expect(JSON.stringify(refused)).not.toMatch(/0\.02\d|leverage":/);
    expect(await budget()).toBe(before);
    expect((await modeler.send<{ models: ModelCard[] }>('GET', `${path}/models`)).models).toHaveLength(0);
    const { entries } = await t
      .client('acme-officer')
      .send<{ entries: { action: string; details: Record<string, unknown> }[] }>('GET', `${path}/audit`);
    expect(entries.at(-1)).toMatchObject({
      action: 'model.failed',
      details: { template: doc.name, errorClass: 'MODEL_PERSON_SET_APART' },
    });
  });
});
