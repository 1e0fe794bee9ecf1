import { readFile, writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import type { EncodedFeature } from '../../release/model-release.ts';
import type { ModelCard, ModelTemplateStatus } from '../../room/models.ts';
import { scoreFile } from '../../client/score-file.ts';
import { signedClient } from '../client-options.ts';
import { registerDatasetTemplateCommands, withRoomOptions, type CommonOptions } from './dataset-template-commands.ts';
import { escapeTerminal } from '../escape-terminal.ts';
import { formatTable, print, printError, printJson } from '../output.ts';

type Common = CommonOptions;

/** A card as people read it: what was trained, with what privacy, and each coefficient. */
export function describeCard(card: ModelCard): string {
  const e = (v: unknown) => escapeTerminal(String(v));
  const name = (f: EncodedFeature) => (f.encoding === 'one-hot' ? `${f.name} = ${f.level}` : f.name);
  const encoding = (f: EncodedFeature) =>
    f.encoding === 'numeric' ? `clipped to [${f.bounds[0]}, ${f.bounds[1]}]` : f.encoding;
  const m = card.metrics;
  const figure = (label: string, v: number | undefined) => (v === undefined ? [] : [`${label} ${v.toPrecision(3)}`]);
  const measured = [
    ...figure('R²', m.r2),
    ...figure('RMSE', m.rmse),
    ...figure('AUC', m.auc),
    ...figure('accuracy', m.accuracy),
    ...figure('log-loss', m.logLoss),
  ];
  const withheld = Object.entries(m.withheld ?? {}).map(([k, why]) => `${e(k)} withheld: ${e(why)}`);
  const about = card.people.exact ? '' : 'about ';
  const se = card.standardErrors;
  return [
    `model ${e(card.template)} (${e(card.model)} regression of ${e(card.label.column)}) on ${e(card.dataset)} ` +
      `v${card.dataVersion}, template ${e(card.templateHash.slice(0, 12))}, audit #${card.auditSeq}`,
    card.dp
      ? `privacy: ε ${card.dp.epsilon}${card.dp.delta ? `, δ ${card.dp.delta}` : ''} by ${e(card.dp.mechanism)}`
      : 'privacy: none (exact)',
    `people: ${about}${card.people.training} trained on, ${about}${card.people.holdout} held out ` +
      `(${Math.round(card.holdout.share * 100)}%, ${e(card.holdout.split)})`,
    `holdout${card.dp ? ' (noisy)' : ''}: ${measured.join(', ')}`,
    ...withheld,
    formatTable(
      ['feature', 'encoding', 'coefficient', ...(se ? ['std. error'] : [])],
      card.features.map((f, i) => [
        name(f),
        encoding(f),
        (card.coefficients[i] ?? 0).toPrecision(4),
        ...(se ? [(se[i] ?? 0).toPrecision(3)] : []),
      ]),
    ),
    '',
  ].join('\n');
}

export function registerModelCommands(program: Command): void {
  const model = program
    .command('model')
    .description('models trained inside the room: propose and review templates, train, read the card');
  const common = withRoomOptions;
  registerDatasetTemplateCommands(model, {
    route: 'model-templates',
    what: 'model template',
    shape:
      '{ kind: "model", name, collaboration, description, dataset, model, label, features, categories, ' +
      'dp: { epsilon, delta? }, ridge?, recipient }',
  });

  common(
    model
      .command('show')
      .description('show a model template with its hash, as the data owner’s officer reviews it')
      .requiredOption('--name <template>'),
  ).action(async (o: Common & { name: string }) => {
    const { client } = await signedClient(o.url, o.key);
    const t = await client.send<ModelTemplateStatus>('GET', `/v1/collaborations/${o.collab}/model-templates/${o.name}`);
    const d = t.document;
    const e = (v: unknown) => escapeTerminal(String(v));
    print(
      [
        `model template ${e(t.name)} (collaboration ${e(o.collab)})`,
        `hash     ${e(t.hash)}`,
        '',
        `description: ${e(d.description)}`,
        `dataset:     ${e(d.dataset)}; ${e(d.model)} regression of ${e(d.label)}`,
        `features:    ${[...d.features, ...d.categories.map((c) => `${c} (one-hot)`)].map(e).join(', ')}`,
        `privacy:     ${d.dp ? `ε ${d.dp.epsilon}${d.dp.delta ? `, δ ${d.dp.delta}` : ''}` : 'none'}`,
        `goes to:     ${e(d.recipient)}`,
        `approval by: ${t.requiredMembers.map(e).join(', ')}; runnable: ${t.runnable ? 'yes' : 'no'}`,
        '',
      ].join('\n'),
    );
  });

  common(
    model
      .command('train')
      .description('train an approved model template inside the room and write its card (JSON) to --out')
      .requiredOption('--template <name>')
      .requiredOption('--out <file>', 'where to write the model card')
      .option('--json', 'print the card as JSON on stdout'),
  ).action(async (o: Common & { template: string; out: string; json?: boolean }) => {
    const { client } = await signedClient(o.url, o.key);
    printError(`training ${escapeTerminal(o.template)} inside the room…\n`);
    const card = await client.send<ModelCard>('POST', `/v1/collaborations/${o.collab}/models`, {
      template: o.template,
    });
    await writeFile(o.out, `${JSON.stringify(card, null, 2)}\n`);
    printError(`wrote the model card to ${escapeTerminal(o.out)}\n`);
    if (o.json) printJson(card);
    else print(describeCard(card));
  });

  program
    .command('score')
    .description('score your own CSV with a model card, on this machine: every column kept, plus `score`')
    .requiredOption('--model <card.json>')
    .requiredOption('--file <csv>')
    .requiredOption('--out <csv>')
    .action(async (o: { model: string; file: string; out: string }) => {
      const card = JSON.parse(await readFile(o.model, 'utf8')) as ModelCard;
      const rows = await scoreFile(card, o.file, o.out);
      printError(`scored ${rows} rows of ${escapeTerminal(o.file)} into ${escapeTerminal(o.out)}\n`);
    });
}
