import type { Command } from 'commander';
import { openExtract, writeExtract, type OpenedExtract } from '../../client/extract-file.ts';
import { RoomRequestError, type RoomClient } from '../../client/room-client.ts';
import { fromBase64 } from '../../crypto/bytes.ts';
import type { SearchProgress } from '../../extract/lattice-search.ts';
import type { PrincipalKey } from '../../keys/principal-key-file.ts';
import type { ExtractReport } from '../../release/extract-release.ts';
import type { ExtractAnswer, ExtractTemplateStatus } from '../../room/extracts.ts';
import { signedClient } from '../client-options.ts';
import { registerDatasetTemplateCommands } from './dataset-template-commands.ts';
import { withRoomOptions, type CommonOptions } from '../profile.ts';
import { escapeTerminal } from '../escape-terminal.ts';
import { formatTable, print, printError, printJson } from '../output.ts';
import { progressBar } from '../progress.ts';

const percent = (share: number) => `${(share * 100).toFixed(2)}%`;

/** The release report as people read it: one row per quasi-identifier, then what was achieved against what. */
export function describeReport(report: ExtractReport): string {
  const levels = formatTable(
    ['quasi-identifier', 'level', 'released as'],
    Object.entries(report.levels).map(([column, l]) => [column, l.level, l.generalisation]),
  );
  const lines = [
    levels,
    `k:            ${report.k.achieved} people in the smallest class (rule: at least ${report.k.required})`,
  ];
  if (report.l)
    lines.push(
      `l:            ${report.l.achieved.toFixed(report.l.kind === 'entropy' ? 2 : 0)} ${report.l.kind} values of ` +
        `${escapeTerminal(report.l.attribute)} in the least diverse class (rule: at least ${report.l.required})`,
    );
  if (report.t)
    lines.push(
      `t:            ${report.t.achieved.toFixed(3)} at most from the whole distribution of ` +
        `${escapeTerminal(report.t.attribute)} (rule: at most ${report.t.required})`,
    );
  lines.push(
    `released:     ${report.rows} rows in ${report.classes} classes, of ${report.people} people`,
    `suppressed:   ${report.suppressed} people (${percent(report.suppressedShare)}; rule: at most ` +
      `${percent(report.maxSuppression)})`,
    `loss:         ${report.informationLoss.toFixed(3)} (non-uniform entropy; 0 as stored, 1 all *)`,
    `search:       ${report.search.checked} of ${report.search.nodes} generalisations checked`,
  );
  if (report.composedWith.length > 0)
    lines.push(`composed with: ${report.composedWith.map((id) => escapeTerminal(id)).join(', ')}`);
  return `${lines.join('\n')}\n`;
}

/** An extract template as its reviewer reads it: the hash first, then what leaves, to whom, and who approved. */
function describeExtractTemplate(t: ExtractTemplateStatus, collaboration: string): string {
  const e = (value: unknown) => escapeTerminal(String(value));
  const review = (member: string) => {
    const r = t.reviews.find((x) => x.member === member);
    if (!r) return `${e(member)} (awaiting)`;
    return `${e(member)} ${r.decision === 'approve' ? 'approved' : 'rejected'} by ${e(r.principal)}`;
  };
  const d = t.document;
  return [
    `extract template ${e(t.name)} (collaboration ${e(collaboration)})`,
    `hash     ${e(t.hash)}`,
    '         (what extract approve|reject --hash takes: in full, or its first 12 digits or more)',
    '',
    `description:       ${e(d.description)}`,
    `proposed by:       ${e(t.proposedBy)}`,
    `dataset:           ${e(d.dataset)}`,
    `quasi-identifiers: ${d.quasiIdentifiers.map(e).join(', ')} (generalised by the search)`,
    `attributes:        ${d.attributes.map(e).join(', ') || 'none'} (as stored)`,
    `sealed to:         ${e(d.recipient)} (${e(d.format)})`,
    `approval by:       ${t.requiredMembers.map(review).join(', ')}`,
    `runnable:          ${t.runnable ? 'yes' : 'no'}`,
    '',
  ].join('\n');
}

/** Fetches a sealed extract, opens it with the caller's own key, checks the room signed it, and writes it out. */
async function fetchAndWrite(
  client: RoomClient,
  key: PrincipalKey,
  collaboration: string,
  id: string,
  out: string,
): Promise<OpenedExtract> {
  const room = await client.getPublic<{ signingPublicKey: string }>('/v1/room');
  const roomKey = fromBase64(room.signingPublicKey, 32);
  if (!roomKey) throw new Error('The room published no valid signing key.');
  const sealed = await client.receiveBytes(`/v1/collaborations/${collaboration}/extracts/${encodeURIComponent(id)}`);
  const opened = await openExtract(sealed, key, roomKey);
  await writeExtract(opened, out);
  return opened;
}

type Common = CommonOptions;

export function registerExtractCommands(program: Command): void {
  const extract = program
    .command('extract')
    .description('anonymized row-level extracts: propose and review templates, run them, fetch sealed files');
  const common = withRoomOptions;
  registerDatasetTemplateCommands(extract, {
    route: 'extract-templates',
    what: 'extract template',
    shape:
      '{ kind: "extract", name, collaboration, description, dataset, quasiIdentifiers, attributes, recipient, format }',
  });

  common(
    extract
      .command('show')
      .description(
        'show an extract template with its hash and, for the data owner’s officer or the recipient, a dry run: ' +
          'the levels the search would choose and the k, l, t and suppression they achieve',
      )
      .requiredOption('--name <template>', 'the extract template, by name')
      .option('--json', 'print the template and its dry run as JSON'),
  ).action(async (o: Common & { name: string; json?: boolean }) => {
    const { client } = await signedClient(o.url, o.key);
    const status = await client.send<ExtractTemplateStatus>(
      'GET',
      `/v1/collaborations/${o.collab}/extract-templates/${o.name}`,
    );
    let dryRun: ExtractAnswer | undefined;
    let why: string | undefined;
    try {
      dryRun = await client.send<ExtractAnswer>('POST', `/v1/collaborations/${o.collab}/extracts`, {
        template: o.name,
        dryRun: true,
      });
    } catch (error) {
      if (!(error instanceof RoomRequestError)) throw error;
      why = `${error.code}: ${error.message}`;
    }
    if (o.json) {
      printJson({ template: status, dryRun: dryRun ?? null });
      return;
    }
    print(describeExtractTemplate(status, o.collab));
    if (dryRun) print(`dry run on the current data (nothing released):\n${describeReport(dryRun.report)}`);
    else print(`no dry run: ${escapeTerminal(why ?? '')}\n`);
  });

  common(
    extract
      .command('run')
      .description(
        'run an approved extract template: the room searches for the least generalisation that meets the rules ' +
          '(progress on stderr), seals the rows to your key; this fetches, opens and writes them to --out, and ' +
          'prints the report',
      )
      .requiredOption('--template <name>', 'the approved extract template to run')
      .option('--out <file>', 'where to write the extract (CSV or Parquet, as the template says)')
      .option('--dry-run', 'only report what would be released')
      .option('--json', 'print the answer (extract id, report) as JSON on stdout'),
  ).action(async (o: Common & { template: string; out?: string; dryRun?: boolean; json?: boolean }) => {
    if (!o.dryRun && !o.out) throw new Error('extract run needs --out FILE (or --dry-run).');
    const { client, key } = await signedClient(o.url, o.key);
    const bar = progressBar(`searching generalisations for ${o.template}`, 'items');
    let answer: ExtractAnswer;
    try {
      answer = await client.sendWithProgress<ExtractAnswer, SearchProgress>(
        'POST',
        `/v1/collaborations/${o.collab}/extracts`,
        { template: o.template, ...(o.dryRun ? { dryRun: true } : {}) },
        (p) => bar.update(p.known, p.total),
      );
    } finally {
      bar.stop();
    }
    if (!o.dryRun && answer.extract && o.out) {
      const opened = await fetchAndWrite(client, key, o.collab, answer.extract, o.out);
      printError(
        `wrote ${opened.manifest.rows} rows (${opened.manifest.format}) to ${escapeTerminal(o.out)}; extract ` +
          `${escapeTerminal(answer.extract)}, audit #${answer.auditSeq}\n`,
      );
    }
    if (o.json) printJson(answer);
    else print(describeReport(answer.report));
  });

  common(
    extract
      .command('fetch')
      .description('fetch an extract sealed to you again, open it with your key and write it to --out')
      .requiredOption('--id <extract>', 'the extract id the run printed')
      .requiredOption('--out <file>', 'where to write the opened rows (.csv, or .parquet for a Parquet template)'),
  ).action(async (o: Common & { id: string; out: string }) => {
    const { client, key } = await signedClient(o.url, o.key);
    const opened = await fetchAndWrite(client, key, o.collab, o.id, o.out);
    printError(`wrote ${opened.manifest.rows} rows (${opened.manifest.format}) to ${escapeTerminal(o.out)}\n`);
    print(describeReport(opened.manifest.report as unknown as ExtractReport));
  });
}
