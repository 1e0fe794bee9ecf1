import { readFile, writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import type { EncodedFeature } from '../../release/model-release.ts';
import type { ModelCard, ModelTemplateStatus } from '../../room/models.ts';
import { scoreFile } from '../../client/score-file.ts';
import { DEFAULT_URL, signedClient } from '../client-options.ts';
import { escapeTerminal } from '../escape-terminal.ts';
import { formatTable, print, printError, printJson } from '../output.ts';
import { reviewTemplateAs } from './query-commands.ts';

interface Common {
  collab: string;
  key: string;
  url: string;
}

/** A card as people read it: what was trained, with what privacy, and each coefficient. */
export function describeCard(card: ModelCard): string {
  const e = (v: unknown) => escapeTerminal(String(v));
  const name = (f: EncodedFeature) => (f.encoding === 'one-hot' ? `${f.name} = ${f.level}` : f.name);
  const encoding = (f: EncodedFeature) =>
    f.encoding === 'numeric' ? `clipped to [${f.bounds[0]}, ${f.bounds[1]}]` : f.encoding;
  return [
    `model ${e(card.template)} (${e(card.model)} regression of ${e(card.label.column)}) on ${e(card.dataset)} ` +
      `v${card.dataVersion}, template ${e(card.templateHash.slice(0, 12))}, audit #${card.auditSeq}`,
    card.dp
      ? `privacy: ε ${card.dp.epsilon}${card.dp.delta ? `, δ ${card.dp.delta}` : ''} by ${e(card.dp.mechanism)}`
      : `privacy: none (exact); trained on ${card.people} people`,
    formatTable(
      ['feature', 'encoding', 'coefficient'],
      card.features.map((f, i) => [name(f), encoding(f), (card.coefficients[i] ?? 0).toPrecision(4)]),
    ),
    '',
  ].join('\n');
}

export function registerModelCommands(program: Command): void {
  const model = program
    .command('model')
    .description('models trained inside the room: propose and review templates, train, read the card');
  const common = (command: Command) =>
    command
      .requiredOption('--collab <id>')
      .requiredOption('--key <file>')
      .option('--url <url>', 'room URL', DEFAULT_URL);

  common(model.command('list').description('list model templates and whether each can be trained')).action(
    async (o: Common) => {
      const { client } = await signedClient(o.url, o.key);
      const { templates } = await client.send<{ templates: ModelTemplateStatus[] }>(
        'GET',
        `/v1/collaborations/${o.collab}/model-templates`,
      );
      for (const t of templates)
        print(
          `${escapeTerminal(t.name).padEnd(28)} ${escapeTerminal(t.hash.slice(0, 12))}  ` +
            `${t.runnable ? 'runnable' : `awaiting ${t.requiredMembers.map((m) => escapeTerminal(m)).join(', ')}`}\n`,
        );
    },
  );

  common(
    model
      .command('propose')
      .description(
        'propose a model template from a JSON file { kind: "model", name, collaboration, description, dataset, ' +
          'model, label, features, categories, dp: { epsilon, delta? }, ridge?, recipient }',
      )
      .requiredOption('--file <json>'),
  ).action(async (o: Common & { file: string }) => {
    const { client } = await signedClient(o.url, o.key);
    const status = await client.send<ModelTemplateStatus>(
      'POST',
      `/v1/collaborations/${o.collab}/model-templates`,
      JSON.parse(await readFile(o.file, 'utf8')),
    );
    print(
      `proposed ${escapeTerminal(status.name)} ${escapeTerminal(status.hash)}\nneeds approval from: ` +
        `${status.requiredMembers.map((m) => escapeTerminal(m)).join(', ')}\n`,
    );
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

  for (const decision of ['approve', 'reject'] as const)
    common(
      model
        .command(decision)
        .description(`as the data owner's officer, sign "${decision}" over the model template hash you reviewed`)
        .requiredOption('--name <template>')
        .requiredOption('--hash <sha256>', 'the hash `model show` printed: 64 hex digits, or at least the first 12')
        .option('--reason <text>'),
    ).action(async (o: Common & { name: string; hash: string; reason?: string }) => {
      const { client, key } = await signedClient(o.url, o.key);
      const status = await reviewTemplateAs(
        client,
        key,
        o.collab,
        o.name,
        decision,
        o.hash,
        o.reason,
        'model-templates',
      );
      print(
        `signed "${decision}" over ${escapeTerminal(status.name)} ${escapeTerminal(status.hash)} → ` +
          `${status.runnable ? 'runnable' : 'not runnable yet'}\n`,
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
