import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reviewTemplateAs } from '../../src/cli/commands/query-commands.ts';
import type { ModelCard } from '../../src/room/models.ts';
import { toBase64 } from '../../src/crypto/bytes.ts';
import { sign } from '../../src/crypto/signatures.ts';
import { generateSigningKeyPair } from '../../src/crypto/signing-keys.ts';
import { modelCardSigningBytes } from '../../src/model/model-card.ts';
import { cli, keyFile, runCli } from '../support/cli.ts';
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
    const trained = await runCli([
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
    expect(trained.code).toBe(0);
    const shown = trained.stdout;
    // Progress per pass as the room streams it, on stderr; the card on stdout.
    expect(trained.stderr).toMatch(/pass 1 over the training rows\n {2}pass 2 over the training rows\n/);
    expect(trained.stderr).toMatch(/metrics on the holdout\n/);
    expect(trained.stderr).toMatch(/signed by the room/);
    expect(shown).toMatch(/privacy: ε 1 by objective perturbation/);
    expect(shown).toMatch(/holdout \(noisy\): accuracy/);
    // No δ in this template: the AUC (whose noise depends on the class sizes) is withheld, and the card says why.
    expect(shown).toMatch(/auc withheld: .*dp\.delta/);
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

    // A card changed after the room signed it (a coefficient nudged) is refused before it scores anything.
    const tampered = join(t.dir, 'tampered.json');
    await writeFile(
      tampered,
      JSON.stringify({ ...card, coefficients: card.coefficients.map((b, i) => (i ? b : b + 1)) }),
    );
    const refused = await runCli(['score', '--model', tampered, '--file', mine, '--out', join(t.dir, 'never.csv')]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/signature does not verify/);
    const notACard = join(t.dir, 'not-a-card.json');
    await writeFile(notACard, JSON.stringify({ ...card, coefficients: ['1; DROP'] }));
    expect((await runCli(['model', 'card', '--model', notACard])).stderr).toMatch(/not a Cleanroom model card/);
    expect(await cli(['model', 'card', '--model', cardFile, '--url', t.baseUrl])).toMatch(/trained on/);

    // A card signed by someone else's key is intact, but not this room's: --url says so; without it the
    // CLI says the origin is unchecked.
    const forger = generateSigningKeyPair();
    const { signature: _signature, ...unsigned } = card;
    const claims = { ...unsigned, dp: { epsilon: 1e-7, delta: 0, mechanism: 'trust me' } };
    const forged = {
      ...claims,
      signature: {
        signer: toBase64(forger.publicKey),
        value: toBase64(sign(modelCardSigningBytes(claims), forger.secretKey)),
      },
    };
    const forgedFile = join(t.dir, 'forged.json');
    await writeFile(forgedFile, JSON.stringify(forged));
    const checked = await runCli(['model', 'card', '--model', forgedFile, '--url', t.baseUrl]);
    expect(checked.code).not.toBe(0);
    expect(checked.stderr).toMatch(/not signed by this room's signing key/);
    expect((await runCli(['model', 'card', '--model', forgedFile])).stderr).toMatch(/origin is not checked/);

    // A file without a column the model needs is refused by name before anything is written.
    const partial = join(t.dir, 'partial.csv');
    await writeFile(partial, 'id,purchases\na,3\n');
    const missing = await runCli(['score', '--model', cardFile, '--file', partial, '--out', join(t.dir, 'never.csv')]);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/has no column loyalty_tier/);
  }, 60_000);
});
