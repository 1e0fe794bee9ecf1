import { join } from 'node:path';
import { readFile } from 'node:fs/promises';
import { openExtract, writeExtract } from '../../client/extract-file.ts';
import { fromBase64 } from '../../crypto/bytes.ts';
import type { SearchProgress } from '../../extract/lattice-search.ts';
import type { ExtractAnswer, ExtractTemplateStatus } from '../../room/extracts.ts';
import { describeReport } from '../commands/extract-commands.ts';
import { reviewTemplateAs } from '../commands/query-commands.ts';
import { escapeTerminal } from '../escape-terminal.ts';
import { say, step } from '../output.ts';
import { progressBar } from '../progress.ts';
import type { DemoContext } from './demo.ts';

const indent = (text: string) => say(text.trimEnd());

/** The demo's extract template: Acme customers for Northwind's model (the bench and tests start from it too). */
export const DEMO_EXTRACT = {
  kind: 'extract',
  name: 'customers_for_modeling',
  collaboration: 'demo',
  description: "Acme customers' loyalty, purchases and conversion, generalised, for Northwind's lookalike model",
  dataset: 'advertiser_customers',
  quasiIdentifiers: ['birth_year', 'zip_code', 'signup_date', 'country'],
  attributes: ['loyalty_tier', 'purchases', 'converted'],
  recipient: 'northwind',
  format: 'csv',
} as const;

/** Issue 10's walkthrough: a k-anonymous, l-diverse, t-close extract for Northwind's modeler, sealed to them. */
export async function demoExtract(ctx: DemoContext, first: number): Promise<number> {
  step(
    first,
    "Anonymized extract: Northwind's modeler asks for Acme customers' rows, generalised until every class has " +
      '≥ 10 people, ≥ 2 loyalty tiers and is within t = 0.3 of the whole',
  );
  const path = '/v1/collaborations/demo';
  const modeler = ctx.client('northwind-analyst');
  const proposed = await modeler.send<ExtractTemplateStatus>('POST', `${path}/extract-templates`, DEMO_EXTRACT);
  say(`northwind-analyst (modeler) proposed extract template customers_for_modeling ${proposed.hash.slice(0, 12)}…`);

  const officer = ctx.client('acme-officer');
  const dryRun = await officer.send<ExtractAnswer>('POST', `${path}/extracts`, {
    template: 'customers_for_modeling',
    dryRun: true,
  });
  say('acme-officer reviews the dry run on the current data (no rows leave):');
  indent(describeReport(dryRun.report));
  const approved = await reviewTemplateAs(
    officer,
    ctx.workspace.keys['acme-officer'],
    'demo',
    'customers_for_modeling',
    'approve',
    proposed.hash,
    undefined,
    'extract-templates',
  );
  say(`acme-officer signed "approve" over ${approved.hash.slice(0, 12)}… → ${approved.runnable ? 'runnable' : '?'}`);

  const bar = progressBar('   searching the generalisation lattice', 'items');
  const answer = await modeler.sendWithProgress<ExtractAnswer, SearchProgress>(
    'POST',
    `${path}/extracts`,
    { template: 'customers_for_modeling' },
    (p) => bar.update(p.known, p.total),
  );
  bar.stop();
  const room = await modeler.getPublic<{ signingPublicKey: string }>('/v1/room');
  const roomKey = fromBase64(room.signingPublicKey, 32) as Uint8Array;
  const sealed = await modeler.receiveBytes(`${path}/extracts/${answer.extract}`);
  const out = join(ctx.workspace.directory, 'customers_for_modeling.csv');
  const opened = await openExtract(sealed, ctx.workspace.keys['northwind-analyst'], roomKey);
  await writeExtract(opened, out);
  const lines = (await readFile(out, 'utf8')).split('\n');
  say(
    `extract ${answer.extract}: ${opened.manifest.rows} rows sealed to northwind-analyst's key (${sealed.length} ` +
      `bytes), opened on its machine and written to ${out}; audit #${answer.auditSeq}. First rows (shuffled):`,
  );
  for (const line of lines.slice(0, 4)) say(`   ${escapeTerminal(line)}`);
  await openExtract(sealed, ctx.workspace.keys['acme-analyst'], roomKey).then(
    () => say('UNEXPECTED: another key opened the extract'),
    () => say("acme-analyst's key cannot open it: the data key is sealed to the recipient alone"),
  );
  return first + 1;
}
