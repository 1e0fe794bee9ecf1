import { writeFile } from 'node:fs/promises';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import type { CaseRun } from '../../src/executor/duckdb-case-map.ts';

/**
 * DuckDB's lower() and upper(), read off the installed engine code point by code point, as runs of
 * `[first, count, step, delta]`: the code points first, first + step, … (count of them) map to
 * themselves + delta. src/executor/duckdb-case-map.ts holds the result; its test compares it with the
 * engine, and `npx tsx test/support/duckdb-case-map.ts --write` writes it again after a DuckDB upgrade.
 */
export async function duckDbCaseRuns(
  connection: DuckDBConnection,
  fn: 'lower' | 'upper',
): Promise<{ runs: CaseRun[]; version: string }> {
  const reader = await connection.runAndReadAll(
    `SELECT i::INTEGER, ord(${fn}(chr(i::INTEGER)))::INTEGER, length(${fn}(chr(i::INTEGER)))::INTEGER
     FROM range(1, 1114112) AS t(i)
     WHERE (i < 55296 OR i > 57343) AND ${fn}(chr(i::INTEGER)) <> chr(i::INTEGER) ORDER BY i`,
  );
  const runs: CaseRun[] = [];
  for (const [from, to, length] of reader.getRows().map((row) => row.map(Number))) {
    if (from === undefined || to === undefined) continue;
    // translateUTF8 maps one code point to one: a mapping to several would need another form.
    if (length !== 1) throw new Error(`DuckDB's ${fn} maps U+${from.toString(16)} to ${length} code points`);
    const last = runs.at(-1);
    if (last) {
      const [first, count, step, delta] = last;
      if (count === 1 && to - from === delta && (from - first === 1 || from - first === 2)) {
        runs[runs.length - 1] = [first, 2, from - first, delta];
        continue;
      }
      if (from === first + count * step && to - from === delta) {
        runs[runs.length - 1] = [first, count + 1, step, delta];
        continue;
      }
    }
    runs.push([from, 1, 1, to - from]);
  }
  const version = String((await connection.runAndReadAll('SELECT version()')).getRows()[0]?.[0]);
  return { runs, version };
}

const hex = (n: number) => (n < 0 ? `-0x${(-n).toString(16)}` : `0x${n.toString(16)}`);
const table = (runs: readonly CaseRun[]) =>
  runs.map(([first, count, step, delta]) => `  [${hex(first)}, ${count}, ${step}, ${delta}],`).join('\n');

/** The module's text, formatted as prettier leaves it. */
export function caseMapModule(lower: readonly CaseRun[], upper: readonly CaseRun[], version: string): string {
  return `/**
 * DuckDB ${version}'s lower() and upper(), code point by code point (written by
 * test/support/duckdb-case-map.ts; test/executor/duckdb-case-map.test.ts fails when the engine's differ).
 *
 * DuckDB maps each code point to one code point. ClickHouse's lowerUTF8/upperUTF8 apply full Unicode
 * rules instead ('ß' → 'SS', 'İ' → 'i̇', a final sigma in context, letters newer than DuckDB's tables),
 * which changed group keys; the ClickHouse emitter writes DuckDB's mapping with translateUTF8.
 */

/** The code points first, first + step, … (count of them) map to themselves + delta. */
export type CaseRun = readonly [first: number, count: number, step: number, delta: number];

export const DUCKDB_LOWER: readonly CaseRun[] = [
${table(lower)}
];

export const DUCKDB_UPPER: readonly CaseRun[] = [
${table(upper)}
];
`;
}

if (process.argv.includes('--write')) {
  const connection = await (await DuckDBInstance.create(':memory:')).connect();
  const lower = await duckDbCaseRuns(connection, 'lower');
  const upper = await duckDbCaseRuns(connection, 'upper');
  await writeFile('src/executor/duckdb-case-map.ts', caseMapModule(lower.runs, upper.runs, lower.version));
  console.error(`lower: ${lower.runs.length} runs, upper: ${upper.runs.length} runs (DuckDB ${lower.version})`);
}
