import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { scoreFile } from '../../client/score-file.ts';
import type { ModelCard, ModelTemplateStatus } from '../../room/models.ts';
import { modelCardDigest } from '../../model/model-card.ts';
import { describeCard } from '../commands/model-commands.ts';
import { reviewTemplateAs } from '../commands/query-commands.ts';
import { escapeTerminal } from '../escape-terminal.ts';
import { say, step } from '../output.ts';
import type { DemoContext } from './demo.ts';

/**
 * The demo's model template: Acme's conversions for Northwind, with Northwind's impressions and
 * clicks per person joined on the e-mail hash (each owner lends them in its policy), DP (the tests
 * start from it too).
 */
export const DEMO_MODEL = {
  kind: 'model',
  name: 'conversion_model',
  collaboration: 'demo',
  description: 'Conversion by ad impressions and clicks, purchases, country and loyalty tier (logistic, ε 1)',
  dataset: 'advertiser_customers',
  model: 'logistic',
  label: 'converted',
  features: ['purchases', 'purchase_value'],
  categories: ['country', 'loyalty_tier'],
  joined: [{ dataset: 'publisher_impressions', features: ['impressions', 'clicks'] }],
  // δ lets the holdout AUC be released (its noise depends on the class sizes; see holdout-metrics.ts).
  dp: { epsilon: 1, delta: 1e-6 },
  recipient: 'northwind',
} as const;

/**
 * Issue 11's walkthrough: a DP conversion model on the joined fixtures trained inside the room (both
 * owners approve), its card and held-out metrics, and scoring at home.
 */
export async function demoModel(ctx: DemoContext, first: number): Promise<number> {
  step(
    first,
    "A model, not rows: Northwind's modeler trains a DP logistic model of Acme's conversions on Northwind's " +
      'impressions inside the room and scores its own file with the card',
  );
  const path = '/v1/collaborations/demo';
  const modeler = ctx.client('northwind-analyst');
  const proposed = await modeler.send<ModelTemplateStatus>('POST', `${path}/model-templates`, DEMO_MODEL);
  // The model reads Acme's customers and Northwind's impressions: an officer of each approves.
  for (const officer of ['acme-officer', 'northwind-officer'] as const)
    await reviewTemplateAs(
      ctx.client(officer),
      ctx.workspace.keys[officer],
      'demo',
      'conversion_model',
      'approve',
      proposed.hash,
      undefined,
      'model-templates',
    );
  say(
    `northwind-analyst proposed conversion_model; the officers of acme (customers) and northwind (impressions) ` +
      `approved ${proposed.hash.slice(0, 12)}…`,
  );
  const card = await modeler.send<ModelCard>('POST', `${path}/models`, { template: 'conversion_model' });
  say(describeCard(card).trimEnd());
  // Every member reads the audit chain; the card only its recipient and the data's owners. Acme's officer
  // proves which card was released from the chain's digest, and the chain itself shows no coefficient.
  const officer = ctx.client('acme-officer');
  const { entries } = await officer.send<{ entries: { seq: number; details: Record<string, unknown> }[] }>(
    'GET',
    `${path}/audit`,
  );
  const entry = entries.find((e) => e.seq === card.auditSeq);
  const owners = await officer.send<ModelCard>('GET', `${path}/models/${card.auditSeq}`);
  const digest = modelCardDigest(owners);
  if (entry?.details.cardSha256 !== digest || 'coefficients' in (entry?.details ?? {}))
    throw new Error('the audit entry of the model does not prove its card');
  say(
    `acme-officer read card #${card.auditSeq} (Acme's data trained it) and matched it to audit entry ` +
      `#${card.auditSeq}'s digest ${digest.slice(0, 12)}…; the entry itself holds no coefficient`,
  );
  const mine = join(ctx.workspace.directory, 'northwind-prospects.csv');
  await writeFile(
    mine,
    'prospect,impressions,clicks,purchases,purchase_value,country,loyalty_tier\n' +
      'p1,0,0,2,80,GB,none\np2,6,1,25,900,DE,gold\np3,12,2,9,300,FR,silver\n',
  );
  const scored = join(ctx.workspace.directory, 'northwind-prospects-scored.csv');
  const rows = await scoreFile(card, mine, scored);
  say(`scored ${rows} of Northwind's own prospects on its own machine (${scored}):`);
  for (const line of (await readFile(scored, 'utf8')).trimEnd().split('\n')) say(`   ${escapeTerminal(line)}`);
  return first + 1;
}
