import { Option, type Command } from 'commander';
import { toBase64 } from '../../crypto/bytes.ts';
import { sign } from '../../crypto/signatures.ts';
import type { RoomClient } from '../../client/room-client.ts';
import type { PrincipalKey } from '../../keys/principal-key-file.ts';
import { approvalSigningBytes } from '../../query/template.ts';
import type { QueryResponse } from '../../room/run-query.ts';
import type { TemplateStatus } from '../../room/template-registry.ts';
import { roomSigningKey, signedClient } from '../client-options.ts';
import { collabOption, keyOption, urlOption, withRoomOptions, type CommonOptions } from '../profile.ts';
import { hashToSign } from '../named-hash.ts';
import { escapeTerminal, terminalJson } from '../escape-terminal.ts';
import { formatTable, print, printError, printJson } from '../output.ts';
import { UsageError } from '../exit-codes.ts';
import { readTemplateFile } from '../template-file.ts';
import { printRecords, printTemplateList, withFormatOptions, type RecordFormat } from '../records.ts';
import {
  RESULT_FORMATS,
  formatOfPath,
  provenancePath,
  renderRows,
  verifyResultFile,
  writeProvenance,
  writeResultFile,
  type ResultFormat,
} from '../../client/result-file.ts';

/** `--param k=v` pairs; numbers stay numbers, `a,b` becomes a list when the template wants one. */
export function parseParams(pairs: readonly string[], template?: TemplateStatus): Record<string, unknown> {
  const params: Record<string, unknown> = {};
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new Error(`--param takes name=value, got "${pair}"`);
    const name = pair.slice(0, at);
    const raw = pair.slice(at + 1);
    const spec = template?.document.parameters[name];
    const scalar = (v: string, type?: string) => (type === 'integer' || type === 'number' ? Number(v) : v);
    params[name] =
      spec?.type === 'list' ? raw.split(',').map((v) => scalar(v, spec.items.type)) : scalar(raw, spec?.type);
  }
  return params;
}

/**
 * An officer signs approve or reject over the template hash they reviewed (`named`: full, or a
 * prefix of at least 12 hex digits), and only if it is the room's current version; a template
 * re-proposed in between is refused here, or by the room (409) if it changes after this check.
 */
export async function reviewTemplateAs(
  client: RoomClient,
  key: PrincipalKey,
  collaboration: string,
  name: string,
  decision: 'approve' | 'reject',
  named: string,
  reason?: string,
  kind: 'templates' | 'extract-templates' | 'model-templates' = 'templates',
): Promise<TemplateStatus> {
  const current = await client.send<TemplateStatus>('GET', `/v1/collaborations/${collaboration}/${kind}/${name}`);
  const command = { templates: 'template', 'extract-templates': 'extract', 'model-templates': 'model' }[kind];
  const hash = hashToSign(named, current.hash, {
    code: 'TEMPLATE_HASH_MISMATCH',
    what: `${command === 'template' ? 'template' : `${command} template`} "${name}"`,
    review: `cleanroom ${command} show --collab ${collaboration} --name ${name}`,
  });
  return client.send<TemplateStatus>('POST', `/v1/collaborations/${collaboration}/${kind}/${name}/approvals`, {
    hash,
    decision,
    ...(reason ? { reason } : {}),
    signature: toBase64(sign(approvalSigningBytes(collaboration, hash, decision), key.secretKey)),
  });
}

/**
 * What an officer reads before signing: the hash first, then what the template is and touches.
 * Everything in it was written by someone else (an analyst, the room), so each field is escaped
 * to stay on its line, and the SQL keeps only its newlines and tabs.
 */
export function describeTemplate(t: TemplateStatus, collaboration: string): string {
  const e = (value: unknown) => escapeTerminal(String(value));
  const review = (member: string) => {
    const r = t.reviews.find((x) => x.member === member);
    if (!r) return `${e(member)} (awaiting)`;
    const reason = r.reason ? ` ("${e(r.reason)}")` : '';
    return `${e(member)} ${r.decision === 'approve' ? 'approved' : 'rejected'} by ${e(r.principal)}${reason}`;
  };
  const params = Object.entries(t.document.parameters).map(([name, spec]) => `${e(name)} ${e(JSON.stringify(spec))}`);
  return [
    `template ${e(t.name)} (collaboration ${e(collaboration)})`,
    `hash     ${e(t.hash)}`,
    '         (what template approve|reject --hash takes: in full, or its first 12 digits or more)',
    '',
    `description:  ${e(t.document.description)}`,
    `proposed by:  ${e(t.proposedBy)}`,
    `parameters:   ${params.length > 0 ? params.join('; ') : 'none'}`,
    `reads:        ${t.report.datasets.map(e).join(', ')}`,
    `columns:      ${t.report.columns.map((c) => `${e(c.dataset)}.${e(c.column)} (${e(c.class)})`).join(', ')}`,
    `threshold:    ${t.report.threshold.minGroupSize} people per group (${e(t.report.threshold.rule)}), at ` +
      `most ${t.report.threshold.maxResultRows} rows`,
    `approval by:  ${t.requiredMembers.map(review).join(', ')}`,
    `runnable:     ${t.runnable ? 'yes' : 'no'}`,
    '',
    'SQL:',
    escapeTerminal(t.document.sql, 'text'),
    '',
    'as the room runs it:',
    escapeTerminal(t.rewrittenSql, 'text'),
    '',
  ].join('\n');
}

/** The format asked for, or the one the output file's name implies; table for a person otherwise. */
function resultFormat(asked: ResultFormat | undefined, out: string | undefined): ResultFormat {
  if (!out) {
    if (asked === 'parquet') throw new UsageError('--format parquet writes a binary file: give --out FILE.parquet.');
    return asked ?? 'table';
  }
  const implied = formatOfPath(out);
  if (asked === 'table') throw new UsageError('--out writes csv, json, ndjson or parquet, not a table.');
  if (asked && implied && asked !== implied)
    throw new UsageError(`--format ${asked} conflicts with the name ${out} (${implied}).`);
  const format = asked ?? implied;
  if (!format) throw new UsageError(`say --format for ${out}: its name ends in none of .csv .json .ndjson .parquet.`);
  return format;
}

/**
 * Where an answer goes: a table and its privacy line on stdout for a person; for a program, exactly
 * the data on stdout (or in --out) and the privacy line on stderr, so a pipe never sees status text.
 */
export async function deliverAnswer(
  answer: QueryResponse,
  format: ResultFormat,
  out?: string,
  roomSigningKey?: () => Promise<string>,
): Promise<void> {
  if (format === 'table') return printAnswer(answer);
  if (out && !answer.dryRun) {
    // A file a partner keeps: the rows, and beside them the room-signed release they came from.
    await writeResultFile(out, format, answer, answer);
    if (roomSigningKey) await writeProvenance(out, format, answer, answer.audit, await roomSigningKey());
  } else if (answer.dryRun || format === 'json') {
    if (out) await writeResultFile(out, 'json', { columns: [], rows: [] }, answer);
    else printJson(answer);
  } else if (out) await writeResultFile(out, format, answer, answer);
  else {
    // Data for a pipe goes byte for byte; on a terminal, what it would act on is shown escaped.
    const text = new TextDecoder().decode(renderRows(format as 'csv' | 'ndjson', answer));
    if (process.stdout.isTTY) print(text);
    else process.stdout.write(text);
  }
  if (answer.dryRun) return;
  const written = out ? `; ${answer.rows.length} rows written to ${out} (provenance: ${provenancePath(out)})` : '';
  printError(`${privacyLine(answer)}${written}\n`);
}

/** Prints a query answer: the table, then what privacy protection was applied. */
export function printAnswer(answer: QueryResponse, write: (text: string) => void = print): void {
  // Column names come from the analyst's SQL and cells from partners' data: escaped, like every value here.
  if (answer.dryRun) {
    write(
      `rewritten SQL:\n  ${escapeTerminal(answer.rewrittenSql, 'text')}\nreport:\n${terminalJson(answer.report)}\n`,
    );
    return;
  }
  write(
    `${formatTable(
      answer.columns.map((c) => c.name),
      answer.rows,
    )}\n`,
  );
  write(`${privacyLine(answer)}\n`);
}

/** One line on what protected a released answer: the threshold and what it held back, or the DP cost and noise. */
function privacyLine(answer: Extract<QueryResponse, { dryRun: false }>): string {
  const p = answer.privacy;
  if (p.mode === 'dp') {
    const noise = Object.entries(p.noise)
      .map(([column, n]) =>
        n.ci95HalfWidth === null
          ? `${escapeTerminal(column)}: ${escapeTerminal(n.note ?? '')}`
          : `${escapeTerminal(column)} ±${n.ci95HalfWidth.toPrecision(3)} (95%)`,
      )
      .join('; ');
    const left = Object.entries(p.remaining)
      .map(([dataset, r]) => `${escapeTerminal(dataset)} ε ${r.epsilon.toFixed(2)}`)
      .join(', ');
    const delta = p.deltaSpent ? `, δ ${p.deltaSpent}` : '';
    return (
      `DP (${p.mechanism}): paid ε ${p.epsilonSpent}${delta}; left today: ${left}; noise ${noise}; ` +
      `audit #${answer.auditSeq}`
    );
  }
  return (
    `${answer.rows.length} groups released (≥ ${p.minGroupSize} people each), ${p.groupsSuppressed} suppressed; ` +
    `audit #${answer.auditSeq}`
  );
}

export function registerQueryCommands(program: Command): void {
  program
    .command('query')
    .description(
      'run an approved template (--template, --param) or ad hoc SQL (--sql); the released rows go to stdout ' +
        '(--format) or a file (--out), what protected them to stderr',
    )
    .addOption(collabOption())
    .addOption(keyOption("analyst's key file"))
    .addOption(urlOption())
    .addOption(new Option('--template <name>', 'an approved template').conflicts('sql'))
    .option('--param <name=value...>', 'template parameter', [])
    .option('--sql <sql>', 'ad hoc SQL, checked by the room like a template')
    .option('--dry-run', 'show the rewritten SQL and checker report only')
    .option('--dp-epsilon <epsilon>', 'run in differential-privacy mode, paying this epsilon from the budget')
    .option('--dp-delta <delta>', "delta for partition selection (default: the policy's)")
    .addOption(
      new Option('--format <format>', 'table for a person; csv, json or ndjson for a program (full precision)').choices(
        RESULT_FORMATS,
      ),
    )
    .option('--out <file>', 'write the rows to a file (.csv, .json, .ndjson, .parquet) instead of stdout')
    .action(
      async (o: {
        collab: string;
        key: string;
        url: string;
        template?: string;
        param: string[];
        sql?: string;
        dryRun?: boolean;
        dpEpsilon?: string;
        dpDelta?: string;
        format?: ResultFormat;
        out?: string;
      }) => {
        if (!o.template && !o.sql) throw new UsageError('name an approved --template or give --sql.');
        if (o.param.length > 0 && !o.template) throw new UsageError('--param goes with --template, not --sql.');
        if (o.dpDelta && !o.dpEpsilon) throw new UsageError('--dp-delta goes with --dp-epsilon.');
        const format = resultFormat(o.format, o.out);
        const { client } = await signedClient(o.url, o.key);
        const template = o.template
          ? await client.send<TemplateStatus>('GET', `/v1/collaborations/${o.collab}/templates/${o.template}`)
          : undefined;
        const body = o.template ? { template: o.template, params: parseParams(o.param, template) } : { sql: o.sql };
        const dp = o.dpEpsilon
          ? { dp: { epsilon: Number(o.dpEpsilon), ...(o.dpDelta ? { delta: Number(o.dpDelta) } : {}) } }
          : {};
        const answer = await client.send<QueryResponse>('POST', `/v1/collaborations/${o.collab}/queries`, {
          ...body,
          ...dp,
          ...(o.dryRun ? { dryRun: true } : {}),
        });
        await deliverAnswer(answer, format, o.out, async () => {
          const room = await client.getPublic<{ signingPublicKey: string }>('/v1/room');
          return room.signingPublicKey;
        });
      },
    );

  program
    .command('verify')
    .description(
      'check a result file written by `query --out` against its FILE.provenance.json and the room’s signed audit ' +
        'entry, offline (exit 3 when it is not the released result)',
    )
    .argument('<file>', 'the result file (.csv, .json, .ndjson or .parquet)')
    .option('--room-key <base64>', "the room's Ed25519 signing key, as GET /v1/room publishes it")
    .option('--url <url>', 'fetch the room key from this room instead of --room-key')
    .option(
      '--embedded-key',
      'check only that the file is intact and signed by the key its provenance names (anyone can make such a file)',
    )
    .option('--json', 'print what was verified as JSON')
    .action(async (file: string, o: { roomKey?: string; url?: string; embeddedKey?: boolean; json?: boolean }) => {
      if ([o.roomKey, o.url, o.embeddedKey].filter(Boolean).length !== 1)
        throw new UsageError(
          "give the room's key with --url ROOM or --room-key KEY (or, knowing anyone could forge it, --embedded-key).",
        );
      const { given, key: roomKey } = await roomSigningKey(o);
      if (given && !roomKey) throw new UsageError('--room-key is not a base64 Ed25519 key.');
      const verified = await verifyResultFile(file, roomKey);
      if (o.json) return printJson(verified);
      const d = verified.details;
      const guarantee =
        d.mode === 'dp'
          ? `DP ε ${String(d.epsilon)}, δ ${String(d.delta)}`
          : `≥ ${String(d.minGroupSize)} people per group`;
      const what = escapeTerminal(String(d.template ?? 'ad hoc SQL'));
      const policy = escapeTerminal(String(d.policyHash)).slice(0, 12);
      const data = escapeTerminal(JSON.stringify(d.dataVersions ?? {}));
      const verdict = verified.originChecked ? 'verified' : 'INTACT, ORIGIN NOT CHECKED (anyone could sign this)';
      print(
        `${verdict}: ${verified.rows} rows, audit #${verified.auditSeq} (${what}); ${guarantee}; ` +
          `policy ${policy}…; data versions ${data}\n`,
      );
    });

  const budget = program
    .command('budget')
    .description("show your member's differential-privacy budget left on each dataset")
    .addOption(collabOption())
    .addOption(keyOption())
    .addOption(urlOption());
  withFormatOptions(budget).action(async (o: CommonOptions & { format?: RecordFormat; json?: boolean }) => {
    const { client } = await signedClient(o.url, o.key);
    const { member, budgets } = await client.send<{
      member: string;
      budgets: {
        dataset: string;
        period: string;
        periodStart: string;
        spent: { epsilon: number; delta?: number };
        limit: { epsilon: number; delta?: number };
        remaining: { epsilon: number; delta: number };
      }[];
    }>('GET', `/v1/collaborations/${o.collab}/budget`);
    printRecords(
      o,
      budgets.map((b) => ({
        member,
        dataset: b.dataset,
        period: b.period,
        periodStart: b.periodStart,
        epsilonSpent: b.spent.epsilon,
        epsilonLimit: b.limit.epsilon,
        epsilonLeft: b.remaining.epsilon,
        deltaLeft: b.remaining.delta,
      })),
      {
        columns: ['dataset', 'period', 'ε spent', 'ε limit', 'ε left', 'δ left'],
        row: (b) => [
          b.dataset,
          `${b.period} ${b.periodStart}`,
          b.epsilonSpent,
          b.epsilonLimit,
          b.epsilonLeft,
          Number(b.deltaLeft).toExponential(1),
        ],
      },
    );
    if (!o.format && !o.json) printError(`(member ${escapeTerminal(member)})\n`);
  });

  const template = program.command('template').description('propose, review and list query templates');
  withRoomOptions(
    withFormatOptions(
      template.command('list').description('list the templates, their hashes and whether each can run'),
    ),
  ).action(async (o: CommonOptions & { format?: RecordFormat; json?: boolean }) => {
    const { client } = await signedClient(o.url, o.key);
    const { templates } = await client.send<{ templates: TemplateStatus[] }>(
      'GET',
      `/v1/collaborations/${o.collab}/templates`,
    );
    printTemplateList(o, templates, 'template');
  });
  template
    .command('propose')
    .description(
      'propose a template from a file: JSON { name, collaboration, description, sql, parameters }, or SQL ' +
        'with that header (minus sql) in a leading /* … */ comment, as in sql/',
    )
    .addOption(collabOption())
    .addOption(keyOption())
    .requiredOption('--file <file>', 'a .json or .sql template file')
    .addOption(urlOption())
    .action(async (o: { collab: string; key: string; file: string; url: string }) => {
      const { client } = await signedClient(o.url, o.key);
      const status = await client.send<TemplateStatus>(
        'POST',
        `/v1/collaborations/${o.collab}/templates`,
        await readTemplateFile(o.file, { sql: true }),
      );
      const approvers = status.requiredMembers.map((m) => escapeTerminal(m)).join(', ');
      print(
        `proposed ${escapeTerminal(status.name)} ${escapeTerminal(status.hash)}\nneeds approval from: ${approvers}\n`,
      );
    });
  template
    .command('show')
    .description("show a template with its hash and the checker's report, as an officer reviews it")
    .addOption(collabOption())
    .addOption(keyOption())
    .requiredOption('--name <template>', 'the template, by name')
    .addOption(urlOption())
    .option('--json', "print the room's whole review view as JSON")
    .action(async (o: { collab: string; key: string; name: string; url: string; json?: boolean }) => {
      const { client } = await signedClient(o.url, o.key);
      const status = await client.send<TemplateStatus>('GET', `/v1/collaborations/${o.collab}/templates/${o.name}`);
      if (o.json) printJson(status);
      else print(describeTemplate(status, o.collab));
    });
  for (const decision of ['approve', 'reject'] as const) {
    template
      .command(decision)
      .description(
        `as an officer, sign "${decision}" over the template hash you reviewed with \`template show\`, if it ` +
          `is still the current one`,
      )
      .addOption(collabOption())
      .addOption(keyOption())
      .requiredOption('--name <template>', 'the template, by name')
      .requiredOption('--hash <sha256>', 'the hash `template show` printed: 64 hex digits, or at least the first 12')
      .option('--reason <text>', 'why, recorded with the signed decision')
      .addOption(urlOption())
      .action(async (o: { collab: string; key: string; name: string; hash: string; reason?: string; url: string }) => {
        const { client, key } = await signedClient(o.url, o.key);
        const status = await reviewTemplateAs(client, key, o.collab, o.name, decision, o.hash, o.reason);
        const state = status.runnable ? 'runnable' : 'not runnable yet';
        print(`signed "${decision}" over ${escapeTerminal(status.name)} ${escapeTerminal(status.hash)} → ${state}\n`);
      });
  }
}
