import { UnprocessableError } from '../errors/cleanroom-error.ts';

/** What a load needs to know about the table it fills (a subset of data-engine's TableShape). */
interface Columns {
  readonly columns: readonly { readonly name: string; readonly type: string }[];
}

/**
 * The largest magnitude a DOUBLE may have. Variance and standard deviation square their inputs:
 * from about 1.3e154 up, DuckDB's stddev/var aggregates raise "out of range" at query time, and a
 * query that fails or succeeds depending on one row's value is an oracle on that value. 1e100
 * leaves every allowed aggregate far from overflow; no real metric comes near it.
 */
export const MAX_DOUBLE_MAGNITUDE = 1e100;

const ident = (name: string): string => `"${name.replaceAll('"', '""')}"`;

const doubles = (shape: Columns) => shape.columns.filter((c) => c.type.toUpperCase() === 'DOUBLE');

/** One pass over a loaded table: per DOUBLE column, how many values are NaN/±inf and how many are beyond ±1e100. */
export function unsafeDoublesSql(table: string, shape: Columns): string | undefined {
  const columns = doubles(shape);
  if (columns.length === 0) return undefined;
  // NaN sorts above every number in DuckDB, so the magnitude test must exclude non-finite values itself.
  return `SELECT ${columns
    .map(
      (c) =>
        `count(*) FILTER (WHERE NOT isfinite(${ident(c.name)})), ` +
        `count(*) FILTER (WHERE isfinite(${ident(c.name)}) AND abs(${ident(c.name)}) > ${MAX_DOUBLE_MAGNITUDE})`,
    )
    .join(', ')} FROM ${table}`;
}

/** The refusal for `unsafeDoublesSql`'s counts, naming columns and counts, never a value. */
export function unsafeDoublesRefusal(shape: Columns, counts: readonly unknown[]): UnprocessableError | undefined {
  const columns = doubles(shape)
    .map((c, i) => ({
      column: c.name,
      nonFinite: Number(counts[2 * i] ?? 0),
      beyondLimit: Number(counts[2 * i + 1] ?? 0),
    }))
    .filter((c) => c.nonFinite > 0 || c.beyondLimit > 0);
  if (columns.length === 0) return undefined;
  const listed = columns
    .map((c) => `"${c.column}" (${c.nonFinite} NaN or infinite, ${c.beyondLimit} beyond ±1e100)`)
    .join(', ');
  return new UnprocessableError(
    'UPLOAD_MALFORMED_DATA',
    `DOUBLE values must be finite and within ±1e100; refused in ${listed}. Such values make aggregates fail ` +
      `depending on one row, which would reveal it.`,
    { problem: 'unsafe-double', limit: MAX_DOUBLE_MAGNITUDE, columns },
  );
}

const dates = (shape: Columns) => shape.columns.filter((c) => c.type.toUpperCase() === 'DATE');

/**
 * DATEs the engine cannot cast to TIMESTAMP (past year 294246, reachable through Parquet). The
 * checker lets DATE meet TIMESTAMP (date_trunc, comparisons), so such a value would make a query
 * fail on its row: an oracle. One count per DATE column.
 */
export function unsafeDatesSql(table: string, shape: Columns): string | undefined {
  const columns = dates(shape);
  if (columns.length === 0) return undefined;
  const beyondRange = (column: string) =>
    `count(*) FILTER (WHERE ${column} IS NOT NULL AND TRY_CAST(${column} AS TIMESTAMP) IS NULL)`;
  return `SELECT ${columns.map((c) => beyondRange(ident(c.name))).join(', ')} FROM ${table}`;
}

/** The refusal for `unsafeDatesSql`'s counts, naming columns and counts, never a value. */
export function unsafeDatesRefusal(shape: Columns, counts: readonly unknown[]): UnprocessableError | undefined {
  const columns = dates(shape)
    .map((c, i) => ({ column: c.name, beyondRange: Number(counts[i] ?? 0) }))
    .filter((c) => c.beyondRange > 0);
  if (columns.length === 0) return undefined;
  const refused = columns.map((c) => `"${c.column}" (${c.beyondRange})`).join(', ');
  return new UnprocessableError(
    'UPLOAD_MALFORMED_DATA',
    `DATE values must lie within TIMESTAMP's range (up to year 294246); refused in ${refused}. ` +
      `Such values make date functions fail depending on one row, which would reveal it.`,
    { problem: 'unsafe-date', columns },
  );
}

type LoadProblem =
  | 'type-mismatch'
  | 'field-count'
  | 'unterminated-quote'
  | 'invalid-utf8'
  | 'not-rfc4180'
  | 'not-parquet'
  | 'missing-column'
  | 'unreadable';

/**
 * Why DuckDB refused a load, as our own data: a fixed sentence per class, the line number and a
 * declared column name when the engine's text names them. The engine's text itself never goes into
 * the response (it quotes the offending line); it becomes the cause, for the room's log, without
 * the quoted line or values.
 */
export function loadRefusal(kind: 'csv' | 'parquet', shape: Columns, engineMessage: string): UnprocessableError {
  const declared = new Map(shape.columns.map((c) => [c.name, c.type]));
  const lineText = /CSV Error on Line: (\d+)/.exec(engineMessage)?.[1];
  const line = lineText === undefined ? undefined : Number(lineText);
  const named =
    /converting column "([^"]+)"/.exec(engineMessage)?.[1] ??
    /source column "?([^"\s]+)"?/.exec(engineMessage)?.[1] ??
    /Column "([^"]+)" referenced that exists in the SELECT clause/.exec(engineMessage)?.[1] ??
    /Referenced column "([^"]+)" not found/.exec(engineMessage)?.[1];
  // Only a declared name may be echoed: anything else in quotes could be data.
  const column = named !== undefined && declared.has(named) ? named : undefined;
  const fields = /Expected Number of Columns: (\d+) Found: (\d+)/.exec(engineMessage);
  const at = line === undefined ? '' : ` on line ${line}`;
  const where = { ...(line === undefined ? {} : { line }), ...(column === undefined ? {} : { column }) };
  const refuse = (problem: LoadProblem, sentence: string, extra: Record<string, unknown> = {}) =>
    new UnprocessableError(
      'UPLOAD_MALFORMED_DATA',
      sentence,
      { problem, ...where, ...extra },
      { cause: new Error(forLog(engineMessage, declared)) },
    );
  const format = kind.toUpperCase();

  if (fields) {
    return refuse('field-count', `A record${at} has ${fields[2]} fields; the dataset declares ${fields[1]} columns.`, {
      expectedColumns: Number(fields[1]),
      foundColumns: Number(fields[2]),
    });
  }
  if (/unterminated quote/i.test(engineMessage))
    return refuse('unterminated-quote', `A quoted value${at} is never closed.`);
  if (/invalid unicode|not utf-8/i.test(engineMessage))
    return refuse('invalid-utf8', `The data${at} is not valid UTF-8.`);
  if (/state machine reached an invalid state|not RFC 4180/i.test(engineMessage)) {
    return refuse(
      'not-rfc4180',
      'The CSV is not RFC 4180: check for mixed line endings (LF and CRLF), a stray carriage return or a stray quote.',
    );
  }
  if (
    /too small to be a Parquet file|footer length|magic bytes|not a parquet file|parquet.*(corrupt|invalid)/i.test(
      engineMessage,
    )
  ) {
    return refuse('not-parquet', 'The file is not a readable Parquet file.');
  }
  if (/referenced that exists in the SELECT clause|Referenced column .* not found/i.test(engineMessage)) {
    return refuse(
      'missing-column',
      `The ${format} data has no column ${column === undefined ? 'the dataset declares' : `"${column}"`}.`,
    );
  }
  if (/conversion error|could not convert|out of range/i.test(engineMessage)) {
    const type = column === undefined ? undefined : declared.get(column);
    return refuse(
      'type-mismatch',
      column === undefined
        ? `A value${at} is not of its column's declared type.`
        : `A value in column "${column}"${at} is not a valid ${type}.`,
      type === undefined ? {} : { expectedType: type },
    );
  }
  return refuse('unreadable', `The ${format} data does not match the dataset's declared columns and types.`);
}

/**
 * The engine's message for the log: the quoted input line dropped, quoted text other than declared column names elided.
 */
function forLog(message: string, declared: ReadonlyMap<string, string>): string {
  return message
    .split('\n')
    .filter((line) => !/^\s*Original Line:/i.test(line))
    .join('\n')
    .replace(/"([^"\n]*)"|'([^'\n]*)'/g, (whole, double?: string, single?: string) =>
      declared.has(double ?? single ?? '') ? whole : '"…"',
    )
    .trim()
    .slice(0, 2000);
}
