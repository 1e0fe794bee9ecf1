import { escapeTerminal, terminalJson } from './escape-terminal.ts';

/**
 * The output boundary of every human-readable CLI answer: no control character from the room or a
 * partner reaches the terminal (newlines and tabs stay; see escape-terminal.ts). Values that must
 * stay on their line (cells, fields) are escaped with escapeTerminal(value) before they are
 * composed into the text.
 */
export const print = (text: string): void => void process.stdout.write(escapeTerminal(text, 'text'));

/** The same boundary for stderr: errors and warnings echo names and messages from the room. */
export const printError = (text: string): void => void process.stderr.write(escapeTerminal(text, 'text'));

/** Machine output: exactly the JSON, with what a terminal would act on as \u escapes. */
export const printJson = (value: unknown): void => print(`${terminalJson(value)}\n`);

/** Prints a result table in columns, the way a person reads query results in a terminal. */
export function formatTable(columns: readonly string[], rows: readonly (readonly unknown[])[]): string {
  const text = (v: unknown) =>
    escapeTerminal(
      v === null || v === undefined ? '∅' : typeof v === 'number' && !Number.isInteger(v) ? v.toFixed(2) : String(v),
    );
  const names = columns.map((c) => escapeTerminal(c));
  const cells = rows.map((r) => r.map(text));
  const widths = names.map((c, i) => Math.max(c.length, ...cells.map((r) => (r[i] ?? '').length)));
  const line = (values: readonly string[]) =>
    values
      .map((v, i) => v.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(names), line(widths.map((w) => '─'.repeat(w))), ...cells.map(line)].join('\n');
}

export const step = (n: number | string, title: string): void => {
  // Our own bold, around a title that is escaped like everything else.
  process.stdout.write(`\n\x1b[1m${escapeTerminal(`${n}. ${title}`)}\x1b[0m\n`);
};

export const say = (text: string): void => {
  print(`   ${text.split('\n').join('\n   ')}\n`);
};
