import { styleText } from 'node:util';
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

/** One JSON value on one line (NDJSON), escaped the same way. */
export const printJsonLine = (value: unknown): void => print(`${terminalJson(value, 0)}\n`);

/** Prints a result table in columns, the way a person reads query results in a terminal. */
export function formatTable(columns: readonly string[], rows: readonly (readonly unknown[])[]): string {
  const text = (v: unknown) =>
    escapeTerminal(
      // Six significant digits for a person (0.0412346, not 0.04); --format csv|json has them all.
      v === null || v === undefined
        ? '∅'
        : typeof v === 'number' && !Number.isInteger(v)
          ? String(Number(v.toPrecision(6)))
          : String(v),
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

/**
 * Whether to style text for this stream: a terminal that has colours, as Node's own hasColors()
 * decides (it honours NO_COLOR, FORCE_COLOR and TERM=dumb); never a pipe or a file.
 */
export const stylesFor = (stream: NodeJS.WriteStream, env: NodeJS.ProcessEnv = process.env): boolean =>
  Boolean(stream.isTTY) && typeof stream.hasColors === 'function' && stream.hasColors(env);

export const step = (n: number | string, title: string): void => {
  // Our own bold, around a title that is escaped like everything else; plain text when piped or NO_COLOR.
  const text = escapeTerminal(`${n}. ${title}`);
  process.stdout.write(`\n${stylesFor(process.stdout) ? styleText('bold', text) : text}\n`);
};

export const say = (text: string): void => {
  print(`   ${text.split('\n').join('\n   ')}\n`);
};
