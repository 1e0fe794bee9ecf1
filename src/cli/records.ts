import { Option, type Command } from 'commander';
import type { ReviewedTemplate } from '../room/template-registry.ts';
import { toCsv } from '../extract/extract-csv.ts';
import { formatTable, print, printJson, printJsonLine } from './output.ts';

/** How a command that lists things prints them: a table for a person, or a machine format. */
export const RECORD_FORMATS = ['table', 'json', 'ndjson', 'csv'] as const;
export type RecordFormat = (typeof RECORD_FORMATS)[number];

/** `--format`, with `--json` kept as its shorthand for `--format json`. */
export const formatOption = (): Option =>
  new Option('--format <format>', 'table for a person; json, ndjson or csv for a program').choices(RECORD_FORMATS);
export const jsonOption = (): Option => new Option('--json', 'the same as --format json').conflicts('format');

/** `--format` and its `--json` shorthand, on a command that lists things. */
export const withFormatOptions = (command: Command): Command =>
  command.addOption(formatOption()).addOption(jsonOption());

type Scalar = string | number | boolean | null;

/**
 * Prints records (flat objects: the same keys in every one) in the format asked for; `table` shows
 * the columns given for a person. Machine formats keep every field and full precision, on stdout only.
 */
export function printRecords(
  options: { format?: RecordFormat; json?: boolean },
  records: readonly Readonly<Record<string, Scalar>>[],
  table: { readonly columns: readonly string[]; readonly row: (record: Readonly<Record<string, Scalar>>) => unknown[] },
): void {
  const format = options.json ? 'json' : (options.format ?? 'table');
  if (format === 'json') return printJson(records);
  if (format === 'ndjson') {
    for (const record of records) printJsonLine(record);
    return;
  }
  if (format === 'csv') {
    const keys = Object.keys(records[0] ?? {});
    const text = new TextDecoder().decode(
      toCsv(
        keys,
        records.map((r) => keys.map((k) => r[k] ?? null)),
        true,
      ),
    );
    if (process.stdout.isTTY) print(text);
    else process.stdout.write(text);
    return;
  }
  print(`${formatTable(table.columns, records.map(table.row))}\n`);
}

/** Any kind of reviewed template (query, extract, model), one record each: whose approval it awaits. */
export function printTemplateList(
  options: { format?: RecordFormat; json?: boolean },
  templates: readonly ReviewedTemplate<unknown>[],
  what: string,
): void {
  printRecords(
    options,
    templates.map((t) => ({
      name: t.name,
      hash: t.hash,
      runnable: t.runnable,
      proposedBy: t.proposedBy,
      awaiting: t.requiredMembers
        .filter((m) => !t.reviews.some((r) => r.member === m && r.decision === 'approve'))
        .join(' '),
    })),
    {
      columns: [what, 'hash', 'state'],
      row: (t) => [t.name, String(t.hash).slice(0, 12), t.runnable ? 'runnable' : `awaiting ${String(t.awaiting)}`],
    },
  );
}
