/** Prints a result table in columns, the way a person reads query results in a terminal. */
export function formatTable(columns: readonly string[], rows: readonly (readonly unknown[])[]): string {
  const text = (v: unknown) => (v === null || v === undefined ? '∅' : typeof v === 'number' && !Number.isInteger(v) ? v.toFixed(2) : String(v));
  const cells = rows.map((r) => r.map(text));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((r) => (r[i] ?? '').length)));
  const line = (values: readonly string[]) => values.map((v, i) => v.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  return [line(columns), line(widths.map((w) => '─'.repeat(w))), ...cells.map(line)].join('\n');
}

export const step = (n: number | string, title: string): void => {
  process.stdout.write(`\n\x1b[1m${n}. ${title}\x1b[0m\n`);
};

export const say = (text: string): void => {
  process.stdout.write(`   ${text.split('\n').join('\n   ')}\n`);
};
