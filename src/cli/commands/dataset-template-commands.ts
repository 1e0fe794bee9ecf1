import type { Command } from 'commander';
import type { ReviewedTemplate } from '../../room/template-registry.ts';
import { signedClient } from '../client-options.ts';
import { withRoomOptions, type CommonOptions } from '../profile.ts';
import { escapeTerminal } from '../escape-terminal.ts';
import { print } from '../output.ts';
import { reviewTemplateAs } from './query-commands.ts';
import { printTemplateList, withFormatOptions, type RecordFormat } from '../records.ts';
import { readTemplateFile } from '../template-file.ts';

/**
 * The subcommands every kind of template over one dataset shares (extract, model): `list`,
 * `propose --file`, and `approve|reject --name --hash` signed by the data owner's officer.
 */
export function registerDatasetTemplateCommands(
  group: Command,
  kind: { readonly route: 'extract-templates' | 'model-templates'; readonly what: string; readonly shape: string },
): void {
  const path = (collab: string) => `/v1/collaborations/${collab}/${kind.route}`;
  withRoomOptions(
    withFormatOptions(group.command('list').description(`list ${kind.what}s and whether each can run`)),
  ).action(async (o: CommonOptions & { format?: RecordFormat; json?: boolean }) => {
    const { client } = await signedClient(o.url, o.key);
    const { templates } = await client.send<{ templates: ReviewedTemplate<unknown>[] }>('GET', path(o.collab));
    printTemplateList(o, templates, kind.what);
  });
  withRoomOptions(
    group
      .command('propose')
      .description(`propose an ${kind.what} from a JSON file ${kind.shape}`)
      .requiredOption('--file <json>', 'the template as a JSON file'),
  ).action(async (o: CommonOptions & { file: string }) => {
    const { client } = await signedClient(o.url, o.key);
    const status = await client.send<ReviewedTemplate<unknown>>(
      'POST',
      path(o.collab),
      await readTemplateFile(o.file, { sql: false }),
    );
    print(
      `proposed ${escapeTerminal(status.name)} ${escapeTerminal(status.hash)}\nneeds approval from: ` +
        `${status.requiredMembers.map((m) => escapeTerminal(m)).join(', ')}\n`,
    );
  });
  for (const decision of ['approve', 'reject'] as const)
    withRoomOptions(
      group
        .command(decision)
        .description(`as the data owner's officer, sign "${decision}" over the ${kind.what} hash you reviewed`)
        .requiredOption('--name <template>', 'the template to sign, by name')
        .requiredOption('--hash <sha256>', 'the hash `show` printed: 64 hex digits, or at least the first 12')
        .option('--reason <text>', 'why, recorded with the signed decision'),
    ).action(async (o: CommonOptions & { name: string; hash: string; reason?: string }) => {
      const { client, key } = await signedClient(o.url, o.key);
      const status = await reviewTemplateAs(client, key, o.collab, o.name, decision, o.hash, o.reason, kind.route);
      print(
        `signed "${decision}" over ${escapeTerminal(status.name)} ${escapeTerminal(status.hash)} → ` +
          `${status.runnable ? 'runnable' : 'not runnable yet'}\n`,
      );
    });
}
