import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { AddressInfo } from 'node:net';
import type { ClickHouseClient } from '@clickhouse/client';
import { Session } from 'chdb';
import { CLICKHOUSE_QUERY_SETTINGS, emitClickHouse } from '../../src/executor/clickhouse-emitter.ts';
import type { SqlNode } from '../../src/query/sql-tree.ts';
import type { BoundParameter } from '../../src/store/bound-parameters.ts';

/**
 * ClickHouse behind a loopback HTTP endpoint, for tests only: chdb (the ClickHouse engine in process)
 * answering the part of ClickHouse's HTTP interface that `@clickhouse/client` uses, so the room's
 * executor talks to it unmodified, as it would to a server.
 *
 * - `GET /ping` answers `Ok.`;
 * - `POST /` runs the query in the body; a trailing `FORMAT x` picks the output format;
 * - `POST /?query=INSERT … FORMAT x` inserts the body's rows (streamed to a file, then `FROM INFILE`);
 * - URL parameters `param_<name>` bind `{name:Type}` placeholders server-side; other URL parameters
 *   but the client's own (`query_id`, `database`, `session_id`, `role`) are query settings, applied to
 *   a SELECT as its SETTINGS clause (as the server applies them to the query). A statement that is
 *   not a read is refused under `readonly`, with the server's code 164.
 * - A failure answers 500 with `X-ClickHouse-Exception-Code` and the engine's text, as the server does.
 *
 * What it does not do: compression, sessions, multipart parameters, streaming of large results.
 */
export interface ChdbEndpoint {
  readonly url: string;
  /** the engine's own data directory (tables on its default disk) */
  readonly dataPath: string;
  /** queries as the endpoint ran them (after settings were applied), for tests that check what was sent */
  readonly received: string[];
  /** the user each of `received` came from (Basic authorization; `default` without), index for index */
  readonly users: string[];
  /**
   * the next query whose text matches fails with a server error (fault injection for tests), by
   * default code 999; ClickHouse's own codes say what kind (43: an illegal argument type, at analysis)
   */
  failNext(pattern: RegExp, code?: number): void;
  close(): Promise<void>;
}

const CLIENT_PARAMETERS = new Set(['query_id', 'database', 'session_id', 'role', 'query', 'default_format']);
const FORMAT_AT_END = /\bFORMAT\s+([A-Za-z]+)\s*;?\s*$/;
const INSERT_FORMAT = /^\s*(INSERT\s+INTO\s+[^\s(]+(?:\s*\([^)]*\))?)\s+FORMAT\s+([A-Za-z]+)\s*$/i;
const READ = /^\s*(\(|SELECT\b|WITH\b|EXPLAIN\b|SHOW\b|DESCRIBE\b|DESC\b|EXISTS\b)/i;

async function bodyText(req: IncomingMessage): Promise<string> {
  const pieces: Buffer[] = [];
  for await (const piece of req as AsyncIterable<Buffer>) pieces.push(piece);
  return Buffer.concat(pieces).toString('utf8');
}

/** A settings value as SQL: numbers stay numbers, anything else a quoted string. */
const settingValue = (value: string) => (/^-?\d+(\.\d+)?$/.test(value) ? value : `'${value.replace(/'/g, "\\'")}'`);

/** A parameter arrives in ClickHouse's escaped text form (the client escapes tab, newline, CR, quote, backslash). */
const ESCAPES: Readonly<Record<string, string>> = { t: '\t', n: '\n', r: '\r', "'": "'", '\\': '\\' };
const unescapeParameter = (value: string) => value.replace(/\\([tnr'\\])/g, (_, c: string) => ESCAPES[c] ?? c);

class EndpointError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * `reader`: a user the endpoint treats as ClickHouse treats one with read grants and a profile of
 * `readonly = 2`: anything but a read is refused (497, ACCESS_DENIED), as is a query that asks for
 * `readonly = 1` (164: it may not change the setting). `configFile`: server configuration (disks and
 * storage policies) for the engine, as a server reads it at start.
 */
export async function startChdbEndpoint(options: { reader?: string; configFile?: string } = {}): Promise<ChdbEndpoint> {
  const session = new Session(
    undefined,
    options.configFile ? { connectionArgs: [`--config-file=${options.configFile}`] } : undefined,
  );
  const received: string[] = [];
  const users: string[] = [];
  const failures: { pattern: RegExp; code: number }[] = [];
  const injected = (sql: string) => {
    const at = failures.findIndex(({ pattern }) => pattern.test(sql));
    if (at < 0) return;
    const code = failures.splice(at, 1)[0]?.code ?? 999;
    throw new EndpointError(code, 'injected failure (INJECTED_BY_TEST)');
  };
  const spool = await mkdtemp(join(tmpdir(), 'cleanroom-chdb-'));
  // chdb runs one query at a time per session; requests queue here as a server's would wait on a lock.
  let queue: Promise<unknown> = Promise.resolve();
  const run = async (req: IncomingMessage): Promise<{ text: string; format: string }> => {
    const url = new URL(req.url ?? '/', 'http://endpoint');
    const inUrl = url.searchParams.get('query');
    const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const user = basic ? Buffer.from(basic, 'base64').toString('utf8').split(':')[0] || 'default' : 'default';
    const reader = options.reader !== undefined && user === options.reader;
    if (reader && url.searchParams.get('readonly') === '1')
      throw new EndpointError(164, "Cannot modify 'readonly' setting in readonly mode. (READONLY)");
    // An INSERT's rows (the body) go through a file, as a server streams them: a JS string holds 512 MB.
    const insert = inUrl !== null ? INSERT_FORMAT.exec(inUrl) : null;
    if (insert) {
      if (reader) throw new EndpointError(497, `${user}: Not enough privileges. (ACCESS_DENIED)`);
      if (/^[12]$/.test(url.searchParams.get('readonly') ?? ''))
        throw new EndpointError(164, 'Cannot execute query in readonly mode. (READONLY)');
      const file = join(spool, `insert-${received.length}`);
      await pipeline(req, createWriteStream(file));
      try {
        const sql = `${insert[1]} FROM INFILE ${settingValue(file)} FORMAT ${insert[2]}`;
        received.push(sql);
        users.push(user);
        await session.queryAsync(sql);
        return { text: '', format: 'TabSeparated' };
      } finally {
        await rm(file, { force: true });
      }
    }
    const body = await bodyText(req);
    let sql = inUrl !== null ? `${inUrl}\n${body}` : body;
    const settings: string[] = [];
    const parameters: Record<string, string> = {};
    for (const [key, value] of url.searchParams) {
      if (!key.startsWith('param_')) {
        if (!CLIENT_PARAMETERS.has(key)) settings.push(`${key} = ${settingValue(value)}`);
        continue;
      }
      parameters[key.slice('param_'.length)] = unescapeParameter(value);
    }
    const database = url.searchParams.get('database');
    let format = 'TabSeparated';
    const isRead = READ.test(sql);
    if (reader && !isRead) throw new EndpointError(497, `${user}: Not enough privileges. (ACCESS_DENIED)`);
    if (isRead) {
      const match = FORMAT_AT_END.exec(sql);
      if (match) {
        format = match[1] ?? format;
        sql = sql.slice(0, match.index);
      }
      sql = sql.replace(/;\s*$/, '');
      if (settings.length > 0) sql = `${sql}\nSETTINGS ${settings.join(', ')}`;
    } else if (settings.some((s) => /^readonly = [12]$/.test(s)))
      throw new EndpointError(164, 'Cannot execute query in readonly mode. (READONLY)');
    // A server applies the URL's settings before it parses; a SETTINGS clause comes too late for this one.
    const querySize = url.searchParams.get('max_query_size');
    if (querySize) session.query(`SET max_query_size = ${Number(querySize)}`);
    if (database && database !== 'default') session.query(`USE ${database}`);
    received.push(sql);
    users.push(user);
    injected(sql);
    try {
      const result = await (Object.keys(parameters).length > 0
        ? session.queryBindAsync(sql, parameters, { format })
        : session.queryAsync(sql, { format }));
      return { text: result.text(), format };
    } catch (error) {
      // chdb's session answered the next query with this one's error (found in review): clear it.
      await session.queryAsync('SELECT 1').catch(() => undefined);
      throw error;
    }
  };
  const server: Server = createServer((req, res) => {
    if (req.method === 'GET' && (req.url === '/ping' || req.url === '/')) {
      res.writeHead(200, { 'content-type': 'text/plain; charset=UTF-8' }).end('Ok.\n');
      return;
    }
    const answered = queue.then(() => run(req));
    queue = answered.catch(() => undefined);
    answered.then(
      ({ text, format }) =>
        res
          .writeHead(200, {
            'content-type': 'text/plain; charset=UTF-8',
            'x-clickhouse-format': format,
            'x-clickhouse-query-id': new URL(req.url ?? '/', 'http://endpoint').searchParams.get('query_id') ?? '',
            'x-clickhouse-summary': '{"read_rows":"0","read_bytes":"0","written_rows":"0","written_bytes":"0"}',
          })
          .end(text),
      (error: unknown) => {
        const message = error instanceof Error ? error.message : String(error);
        const code = error instanceof EndpointError ? error.code : Number(/Code: (\d+)/.exec(message)?.[1] ?? 1000);
        const text = message.startsWith('Code:') ? message : `Code: ${code}. DB::Exception: ${message}`;
        res
          .writeHead(500, { 'content-type': 'text/plain; charset=UTF-8', 'x-clickhouse-exception-code': String(code) })
          .end(text);
      },
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    dataPath: session.path,
    received,
    users,
    failNext: (pattern, code = 999) => void failures.push({ pattern, code }),
    close: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await queue;
      session.cleanup();
      await rm(spool, { recursive: true, force: true });
    },
  };
}

/** Non-finite doubles: DuckDB writes Infinity / NaN, ClickHouse (denormals quoted) inf / nan. */
const NON_FINITE: Readonly<Record<string, string>> = {
  Infinity: 'inf',
  '-Infinity': '-inf',
  NaN: 'nan',
  inf: 'inf',
  '+inf': 'inf',
  '-inf': '-inf',
  nan: 'nan',
};

/** One engine's answer value in a form both engines agree on: numbers as numbers (1.50 and 1.5 alike). */
export function comparable(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'boolean') return Number(value);
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && /^-?\d+(\.\d+)?(e[+-]?\d+)?$/i.test(value)) return Number(value);
  // A timestamp: ClickHouse writes DateTime64(6)'s zero microseconds, DuckDB leaves them out.
  if (typeof value === 'string' && /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.0+$/.test(value))
    return value.replace(/\.0+$/, '');
  if (typeof value === 'string') return NON_FINITE[value] ?? value;
  if (Array.isArray(value)) return value.map(comparable);
  return String(value);
}

/**
 * Rows as a sorted multiset of `comparable` rows (a query without ORDER BY may answer in any order on
 * either engine), doubles to `significant` digits: a SUM of doubles depends on the order of its
 * additions, which differs between engines (and between DuckDB runs on more threads). Integers, text
 * and dates compare exactly.
 */
export const rowMultiset = (rows: readonly (readonly unknown[])[], significant: number): string[] =>
  rows
    .map((r) =>
      JSON.stringify(
        r.map((v) => {
          const n = comparable(v);
          return typeof n === 'number' && !Number.isInteger(n) ? Number(n.toPrecision(significant)) : n;
        }),
      ),
    )
    .sort();

/** Runs a checked tree on ClickHouse as the emitter writes it; the rows in `comparable` form. */
export async function answerOnClickHouse(
  client: ClickHouseClient,
  tree: SqlNode,
  parameters: Readonly<Record<string, BoundParameter>> = {},
): Promise<unknown[][]> {
  const emitted = emitClickHouse(tree, parameters);
  const result = await client.query({
    query: emitted.sql,
    query_params: emitted.params,
    clickhouse_settings: {
      ...CLICKHOUSE_QUERY_SETTINGS,
      output_format_json_quote_64bit_integers: 0,
      output_format_json_quote_denormals: 1,
    },
    format: 'JSONCompactEachRow',
  });
  return ((await result.json()) as unknown[][]).map((row) => row.map(comparable));
}
