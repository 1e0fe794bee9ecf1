import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, extname, join } from 'node:path';
import { auditEntryHash, auditSigningBytes, type AuditEntry } from '../audit/audit-entry.ts';
import { fromBase64 } from '../crypto/bytes.ts';
import { sha256Hex } from '../crypto/hashing.ts';
import { verify } from '../crypto/signatures.ts';
import { UnprocessableError } from '../errors/cleanroom-error.ts';
import { toCsv } from '../extract/extract-csv.ts';
import { resultDigest } from '../release/query-answer.ts';
import { csvToParquet, readParquetRows } from '../store/local-parquet.ts';
import type { Cell } from '../store/result-values.ts';

/** How released rows leave the CLI: a table for a person, or a machine format in full precision. */
export const RESULT_FORMATS = ['table', 'csv', 'json', 'ndjson', 'parquet'] as const;
export type ResultFormat = (typeof RESULT_FORMATS)[number];

export interface ReleasedRows {
  readonly columns: readonly { readonly name: string; readonly type: string }[];
  readonly rows: readonly (readonly Cell[])[];
}

/** The format a file name asks for (`.csv`, `.json`, `.ndjson`/`.jsonl`, `.parquet`), if any. */
export function formatOfPath(path: string): ResultFormat | undefined {
  const extension = extname(path).toLowerCase();
  return ({ '.csv': 'csv', '.json': 'json', '.ndjson': 'ndjson', '.jsonl': 'ndjson', '.parquet': 'parquet' } as const)[
    extension
  ];
}

/**
 * Text formats, as bytes. CSV neutralises formula-leading text (a spreadsheet would run `=HYPERLINK(…)`
 * from a partner's value); JSON is `whole` (the answer with its provenance) or, for NDJSON, one object
 * per row keyed by column name. Numbers are written as JavaScript prints them: every digit the room sent.
 */
export function renderRows(format: 'csv' | 'ndjson', released: ReleasedRows): Uint8Array {
  const names = released.columns.map((c) => c.name);
  if (format === 'csv') return toCsv(names, released.rows, true);
  const lines = released.rows.map((row) => JSON.stringify(Object.fromEntries(names.map((n, i) => [n, row[i]]))));
  return new TextEncoder().encode(lines.map((l) => `${l}\n`).join(''));
}

/**
 * Writes released rows to `path` (mode 0600: they are the member's results) in `format`. Parquet keeps
 * each column's type as the room declared it, written by DuckDB on this machine from an exact CSV.
 */
export async function writeResultFile(
  path: string,
  format: Exclude<ResultFormat, 'table'>,
  released: ReleasedRows,
  whole: unknown,
): Promise<void> {
  if (format === 'parquet') {
    const dir = await mkdtemp(join(tmpdir(), 'cleanroom-result-'));
    try {
      const csv = join(dir, 'result.csv');
      await writeFile(
        csv,
        toCsv(
          released.columns.map((c) => c.name),
          released.rows,
          false,
        ),
        { mode: 0o600 },
      );
      await csvToParquet(csv, released.columns, path);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    return;
  }
  const bytes =
    format === 'json' ? new TextEncoder().encode(`${JSON.stringify(whole, null, 2)}\n`) : renderRows(format, released);
  await writeFile(path, bytes, { mode: 0o600 });
}

/** What `query --out FILE` writes beside FILE (as FILE.provenance.json) for `cleanroom verify`. */
export interface ResultProvenance {
  readonly v: 1;
  readonly kind: 'cleanroom-query-result';
  /** the data file's name, its format and the SHA-256 of its bytes as written */
  readonly file: string;
  readonly format: Exclude<ResultFormat, 'table'>;
  readonly fileSha256: string;
  readonly columns: ReleasedRows['columns'];
  readonly rows: ReleasedRows['rows'];
  /** the room-signed audit entry of the release: template or SQL, policy, data versions, guarantee, resultSha256 */
  readonly audit: AuditEntry;
  /** the room's Ed25519 signing key as it published it when the file was written (base64) */
  readonly roomSigningPublicKey: string;
}

export const provenancePath = (file: string): string => `${file}.provenance.json`;

/** Writes the sidecar of a result file (0600), binding the file's bytes to the room-signed release. */
export async function writeProvenance(
  file: string,
  format: Exclude<ResultFormat, 'table'>,
  released: ReleasedRows,
  audit: AuditEntry,
  roomSigningPublicKey: string,
): Promise<ResultProvenance> {
  const provenance: ResultProvenance = {
    v: 1,
    kind: 'cleanroom-query-result',
    file: basename(file),
    format,
    fileSha256: sha256Hex(await readFile(file)),
    columns: released.columns,
    rows: released.rows,
    audit,
    roomSigningPublicKey,
  };
  await writeFile(provenancePath(file), `${JSON.stringify(provenance, null, 2)}\n`, { mode: 0o600 });
  return provenance;
}

export interface VerifiedResult {
  readonly rows: number;
  readonly auditSeq: number;
  readonly details: Readonly<Record<string, unknown>>;
  /** false when no room key was given: the file is intact and signed by the key in its sidecar */
  readonly originChecked: boolean;
}

const notAuthentic = (file: string, why: string) =>
  new UnprocessableError('RESULT_NOT_AUTHENTIC', `${file} is not the result the room released: ${why}.`, { file });

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

/**
 * Whether the file holds exactly the sidecar's columns (names, and types where the format keeps them)
 * and rows. CSV and NDJSON are rendered again and compared byte for byte; JSON must be the one
 * rendering of itself (no duplicate key, no number that reads back differently) with the same
 * columns, rows and audit entry; Parquet is read back with its schema.
 */
async function fileHolds(file: string, bytes: Buffer, provenance: ResultProvenance): Promise<boolean> {
  const released = { columns: provenance.columns, rows: provenance.rows };
  if (provenance.format === 'csv' || provenance.format === 'ndjson') {
    return Buffer.from(renderRows(provenance.format, released)).equals(bytes);
  }
  if (provenance.format === 'json') {
    let parsed: { columns?: unknown; rows?: unknown; audit?: unknown; privacy?: { policyHash?: unknown } };
    try {
      parsed = JSON.parse(bytes.toString('utf8')) as typeof parsed;
    } catch {
      return false;
    }
    return (
      `${JSON.stringify(parsed, null, 2)}\n` === bytes.toString('utf8') &&
      same(parsed.columns, released.columns) &&
      same(parsed.rows, released.rows) &&
      same(parsed.audit, provenance.audit) &&
      parsed.privacy?.policyHash === provenance.audit.details.policyHash
    );
  }
  const read = await readParquetRows(file, true);
  return (
    same(
      read.columns,
      released.columns.map((c) => c.name),
    ) && same(read.rows, released.rows)
  );
}

/**
 * Checks a result file offline: its bytes are the ones its sidecar names, the sidecar's rows are the
 * ones the file holds (re-rendered, or read back from Parquet), those rows are the ones the room's
 * signed audit entry attests (resultSha256), and the entry is intact and signed by `roomKey` (or,
 * without one, by the key the sidecar names: intact, origin unchecked).
 */
export async function verifyResultFile(file: string, roomKey?: Uint8Array): Promise<VerifiedResult> {
  let provenance: ResultProvenance;
  try {
    provenance = JSON.parse(await readFile(provenancePath(file), 'utf8')) as ResultProvenance;
  } catch {
    throw notAuthentic(file, `its provenance file ${provenancePath(file)} is missing or not JSON`);
  }
  if (provenance?.kind !== 'cleanroom-query-result' || provenance.v !== 1 || !provenance.audit)
    throw notAuthentic(file, 'its provenance file is not a Cleanroom query result');
  const named = formatOfPath(file);
  if (named !== provenance.format)
    throw notAuthentic(file, `its name says ${named ?? 'no known format'}, its provenance ${provenance.format}`);
  const bytes = await readFile(file);
  if (sha256Hex(bytes) !== provenance.fileSha256) throw notAuthentic(file, 'its bytes changed after it was written');
  const released = { columns: provenance.columns, rows: provenance.rows };
  if (!(await fileHolds(file, bytes, provenance)))
    throw notAuthentic(file, 'its columns or rows are not the ones its provenance names');
  const entry = provenance.audit;
  if (auditEntryHash(entry) !== entry.hash) throw notAuthentic(file, 'the audit entry was altered');
  const key = roomKey ?? fromBase64(provenance.roomSigningPublicKey, 32);
  const signature = fromBase64(entry.signature, 64);
  if (!key || !signature || !verify(auditSigningBytes(entry.hash), signature, key))
    throw notAuthentic(file, roomKey ? "the audit entry is not signed by this room's key" : 'the signature fails');
  if (entry.details.resultSha256 !== resultDigest(released.columns, released.rows))
    throw notAuthentic(file, 'the rows are not the ones the audit entry attests');
  return { rows: released.rows.length, auditSeq: entry.seq, details: entry.details, originChecked: !!roomKey };
}
