import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import type { EncodedFeature } from '../../model/model-card.ts';
import { MODEL_CARD_SCHEMA } from '../../model/model-card.ts';
import { fromBase64 } from '../../crypto/bytes.ts';
import type { ModelCard, ModelTemplateStatus, TrainingProgress } from '../../room/models.ts';
import { checkModelCard, readModelCard, scoreFile } from '../../client/score-file.ts';
import { RoomClient } from '../../client/room-client.ts';
import { signedClient } from '../client-options.ts';
import { registerDatasetTemplateCommands } from './dataset-template-commands.ts';
import { withRoomOptions, type CommonOptions } from '../profile.ts';
import { escapeTerminal } from '../escape-terminal.ts';
import { formatTable, print, printError, printJson } from '../output.ts';

type Common = CommonOptions;

/** A card as people read it: what was trained, with what privacy, and each coefficient. */
export function describeCard(card: ModelCard): string {
  const e = (v: unknown) => escapeTerminal(String(v));
  const name = (f: EncodedFeature) => (f.encoding === 'one-hot' ? `${f.name} = ${f.level}` : f.name);
  const encoding = (f: EncodedFeature) => {
    if (f.encoding !== 'numeric') return f.encoding;
    const source = f.from
      ? `${e(f.from.aggregate)}${f.from.column ? ` of ${e(f.from.column)}` : ''} per person in ${e(f.from.dataset)}, `
      : '';
    return `${source}clipped to [${f.bounds[0]}, ${f.bounds[1]}]`;
  };
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
  const joins = (card.joined ?? []).map((j) => ` joined with ${e(j.dataset)} v${j.dataVersion}`).join('');
  return [
    `model ${e(card.template)} (${e(card.model)} regression of ${e(card.label.column)}) on ${e(card.dataset)} ` +
      `v${card.dataVersion}${joins}, template ${e(card.templateHash.slice(0, 12))}, audit #${card.auditSeq}`,
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

/**
 * Reads and checks a card file: schema, and a signature by the room at `url` when given (its published
 * key). Without a room to ask, the signature only shows the card is intact: anyone can sign a card with
 * a key of their own, so the origin is reported as unchecked.
 */
async function readCardFrom(path: string, url: string | undefined): Promise<ModelCard> {
  if (!url) {
    const card = await readModelCard(path);
    printError(
      `the card is intact, signed by key ${escapeTerminal(card.signature.signer.slice(0, 12))}…; its origin is not ` +
        'checked (pass --url ROOM to check it is that room’s key)\n',
    );
    return card;
  }
  const room = await new RoomClient(url).getPublic<{ signingPublicKey: string }>('/v1/room');
  const roomKey = fromBase64(room.signingPublicKey, 32);
  if (!roomKey) throw new Error('The room published no valid signing key.');
  return readModelCard(path, roomKey);
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
      'joined?: [{ dataset, features }], dp: { epsilon, delta? }, ridge?, recipient }',
  });

  common(
    model
      .command('show')
      .description('show a model template with its hash, as the data owner’s officer reviews it')
      .requiredOption('--name <template>', 'the model template, by name'),
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
      .description(
        'train an approved model template inside the room (progress per pass on stderr), check the room signed ' +
          'its card and write the card (JSON) to --out',
      )
      .requiredOption('--template <name>', 'the approved model template to train')
      .requiredOption('--out <file>', 'where to write the model card')
      .option('--json', 'print the card as JSON on stdout'),
  ).action(async (o: Common & { template: string; out: string; json?: boolean }) => {
    const { client } = await signedClient(o.url, o.key);
    const room = await client.getPublic<{ signingPublicKey: string }>('/v1/room');
    const roomKey = fromBase64(room.signingPublicKey, 32);
    if (!roomKey) throw new Error('The room published no valid signing key.');
    printError(`training ${escapeTerminal(o.template)} inside the room…\n`);
    const answer = await client.sendWithProgress<unknown, TrainingProgress>(
      'POST',
      `/v1/collaborations/${o.collab}/models`,
      { template: o.template },
      (p) =>
        printError(p.stage === 'training' ? `  pass ${p.pass} over the training rows\n` : '  metrics on the holdout\n'),
    );
    const card = checkModelCard(answer, roomKey);
    await writeFile(o.out, `${JSON.stringify(card, null, 2)}\n`);
    printError(`wrote the model card (signed by the room) to ${escapeTerminal(o.out)}\n`);
    if (o.json) printJson(card);
    else print(describeCard(card));
  });

  common(
    model
      .command('cards')
      .description('list the model cards you may read: models sent to your member, and models trained on its data'),
  ).action(async (o: Common & { json?: boolean }) => {
    const { client } = await signedClient(o.url, o.key);
    const { models } = await client.send<{ models: ModelCard[] }>('GET', `/v1/collaborations/${o.collab}/models`);
    print(
      formatTable(
        ['model', 'template', 'kind', 'dataset', 'recipient', 'privacy', 'trained at'],
        models.map((c) => [
          `#${c.auditSeq}`,
          c.template,
          c.model,
          [c.dataset, ...(c.joined ?? []).map((j) => j.dataset)].join(' + '),
          c.recipient,
          c.dp ? `ε ${c.dp.epsilon}` : 'none',
          c.trainedAt,
        ]),
      ),
    );
  });

  common(
    model
      .command('score-rows')
      .description(
        "score your own member's dataset inside the room with a DP model (its privacy unit and score, as CSV); " +
          'scores of rows go only to their owner',
      )
      .requiredOption('--model <n>', 'the model, by its audit number (`model cards` lists them)')
      .requiredOption('--dataset <name>', 'a dataset your member owns')
      .requiredOption('--out <csv>', 'where to write the scores (CSV)'),
  ).action(async (o: Common & { model: string; dataset: string; out: string }) => {
    const { client } = await signedClient(o.url, o.key);
    const seq = o.model.replace(/^#/, '');
    const csv = await client.sendForBytes(
      'POST',
      `/v1/collaborations/${o.collab}/models/${encodeURIComponent(seq)}/scores`,
      {
        dataset: o.dataset,
      },
    );
    await writeFile(o.out, csv, { mode: 0o600 });
    printError(`wrote the scores of ${escapeTerminal(o.dataset)} to ${escapeTerminal(o.out)}\n`);
  });

  model
    .command('schema')
    .description('print the JSON Schema of a model card')
    .action(() => printJson(MODEL_CARD_SCHEMA));

  model
    .command('card')
    .description('check a model card file (schema and the room’s signature) and describe it')
    .requiredOption('--model <card.json>', 'the signed model card (`model train --out`)')
    .option('--url <url>', 'check the card was signed by the room at this address (else: intact, origin unchecked)')
    .option('--json', 'print the checked card as JSON on stdout')
    .action(async (o: { model: string; url?: string; json?: boolean }) => {
      const card = await readCardFrom(o.model, o.url);
      if (o.json) printJson(card);
      else print(describeCard(card));
    });

  program
    .command('score')
    .description('score your own CSV with a model card, on this machine: every column kept, plus `score`')
    .requiredOption('--model <card.json>', 'the signed model card (`model train --out`)')
    .requiredOption('--file <csv>', 'your own CSV with the card’s feature columns')
    .requiredOption('--out <csv>', 'where to write the scores (CSV)')
    .option('--url <url>', 'check the card was signed by the room at this address (else: intact, origin unchecked)')
    .action(async (o: { model: string; file: string; out: string; url?: string }) => {
      const rows = await scoreFile(await readCardFrom(o.model, o.url), o.file, o.out);
      printError(`scored ${rows} rows of ${escapeTerminal(o.file)} into ${escapeTerminal(o.out)}\n`);
    });
}
