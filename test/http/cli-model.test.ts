import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reviewTemplateAs } from '../../src/cli/commands/query-commands.ts';
import type { ModelCard } from '../../src/room/models.ts';
import { cli, keyFile } from '../support/cli.ts';
import { startTestRoom, uploadDemoDataset, type TestRoom } from '../support/test-room.ts';

let t: TestRoom;
beforeAll(async () => {
  t = await startTestRoom();
  await t.acceptAll();
  await uploadDemoDataset(t, 'advertiser_customers');
  const status = await t
    .client('northwind-analyst')
    .send<{ hash: string }>('POST', '/v1/collaborations/demo/model-templates', {
      kind: 'model',
      name: 'conversion',
      collaboration: 'demo',
      description: 'Conversion by purchases and loyalty',
      dataset: 'advertiser_customers',
      model: 'logistic',
      label: 'converted',
      features: ['purchases'],
      categories: ['loyalty_tier'],
      dp: { epsilon: 1 },
      recipient: 'northwind',
    });
  await reviewTemplateAs(
    t.client('acme-officer'),
    t.keys['acme-officer']!,
    'demo',
    'conversion',
    'approve',
    status.hash,
    undefined,
    'model-templates',
  );
});
afterAll(async () => t.close());

describe('a modeler, through the CLI', () => {
  it('trains a DP model in the room, reads its card, and scores its own file on its own machine', async () => {
    const key = await keyFile(t, 'northwind-analyst');
    const cardFile = join(t.dir, 'card.json');
    const shown = await cli([
      'model',
      'train',
      '--template',
      'conversion',
      '--out',
      cardFile,
      '--collab',
      'demo',
      '--url',
      t.baseUrl,
      '--key',
      key,
    ]);
    expect(shown).toMatch(/privacy: ε 1 by objective perturbation/);
    expect(shown).toMatch(/loyalty_tier = platinum/);
    const card = JSON.parse(await readFile(cardFile, 'utf8')) as ModelCard;
    expect(card.coefficients).toHaveLength(6);

    // Northwind's own file: some people with a loyalty tier and purchases (and a column the model ignores).
    const mine = join(t.dir, 'mine.csv');
    await writeFile(mine, 'id,purchases,loyalty_tier,segment\na,3,gold,sports\nb,80,none,travel\nc,,silver,family\n');
    const scored = join(t.dir, 'scored.csv');
    await cli(['score', '--model', cardFile, '--file', mine, '--out', scored]);
    const [header, ...rows] = (await readFile(scored, 'utf8')).trimEnd().split('\n');
    expect(header).toBe('id,purchases,loyalty_tier,segment,score');
    const sigma = (z: number) => 1 / (1 + Math.exp(-z));
    const beta = card.coefficients;
    // purchases clipped to [0, 50] as in training; levels none, silver, gold, platinum one-hot.
    const expected = [sigma(beta[0]! + beta[1]! * 3 + beta[4]!), sigma(beta[0]! + beta[1]! * 50 + beta[2]!)];
    expect(Number(rows[0]!.split(',')[4])).toBeCloseTo(expected[0]!, 9);
    expect(Number(rows[1]!.split(',')[4])).toBeCloseTo(expected[1]!, 9);
    // A missing feature gives no score, never a guess.
    expect(rows[2]!.split(',')[4]).toBe('');
  }, 60_000);
});
