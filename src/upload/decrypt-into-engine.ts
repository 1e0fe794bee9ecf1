import { constants, createWriteStream, type WriteStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { readEnvelope, type OpenedEnvelope } from '../crypto/envelope-reader.ts';
import { PayloadTooLargeError } from '../errors/cleanroom-error.ts';
import type { EnvelopeHeader } from '../crypto/envelope-format.ts';
import type { Dataset } from '../policy/collaboration.ts';
import { CsvHeaderGate } from './csv-header.ts';
import type { StagingArea } from './staging-area.ts';

/** The engine operations a load needs (implemented by the store's DataEngine). */
export interface IngestEngine {
  loadIncoming(
    shape: TableShape,
    source: { kind: 'csv' | 'parquet'; path: string },
    incomingName: string,
  ): Promise<number>;
  commitIncoming(shape: TableShape, incomingName: string): Promise<void>;
  discardIncoming(shape: TableShape, incomingName: string): Promise<void>;
}

export interface TableShape {
  readonly schema: string;
  readonly table: string;
  readonly columns: readonly { readonly name: string; readonly type: string }[];
  /** the privacy unit's column (an executor on a cluster shards by it) */
  readonly unit?: string;
}

export const tableShape = (collaborationId: string, dataset: Dataset): TableShape => ({
  schema: collaborationId,
  table: dataset.name,
  unit: dataset.rules.privacyUnit,
  columns: dataset.columns.map((c) => ({ name: c.name, type: c.type })),
});

/** What a load must check before it may stage or keep anything. */
export interface LoadChecks<T> {
  /**
   * Checks the whole opened envelope (trailer signature, signer, manifest, hashes) and returns
   * what it verified; a throw refuses the load. It runs once the final chunk and the trailer have
   * arrived, and before a single Parquet byte is written to the staging area.
   */
  readonly authenticate: (opened: OpenedEnvelope) => T;
  /**
   * Parquet cannot stream through a pipe (DuckDB seeks in it), so its plaintext is held in memory
   * until `authenticate` passes; a larger plaintext is refused as it arrives.
   */
  readonly maxParquetBytes: number;
}

export interface LoadedIncoming<T> {
  readonly opened: OpenedEnvelope;
  readonly authenticated: T;
  readonly rows: number;
  readonly incomingName: string;
}

/** Plaintext is written to the staging file in batches of about this size (one writev each). */
const STAGE_BATCH_BYTES = 8 * 1024 * 1024;
const EMPTY = new Uint8Array(0);

/**
 * Writes pieces to a stream as one writev (corked), waiting for drain, and failing fast if the
 * reader side gave up. One write per chunk rather than per network piece: each write is a
 * thread-pool round trip, and at 64 KB pieces those round trips cost more than the copy.
 */
async function writeAll(
  stream: WriteStream,
  pieces: readonly Uint8Array[],
  readerFailed: () => unknown,
): Promise<void> {
  const failure = readerFailed();
  if (failure) throw failure;
  stream.cork();
  let room = true;
  for (const piece of pieces) room = stream.write(piece);
  stream.uncork();
  if (room) return;
  await new Promise<void>((resolve, reject) => {
    const done = () => {
      cleanup();
      resolve();
    };
    const fail = (error: unknown) => {
      cleanup();
      reject(readerFailed() ?? error);
    };
    const cleanup = () => {
      stream.off('drain', done);
      stream.off('error', fail);
      stream.off('close', done);
    };
    stream.on('drain', done).on('error', fail).on('close', done);
  });
  const late = readerFailed();
  if (late) throw late;
}

const closeStream = (stream: WriteStream) =>
  new Promise<void>((resolve) => {
    if (stream.closed) resolve();
    else stream.end(() => resolve());
  });

/**
 * A pipe's writer open blocks until a reader opens it. If DuckDB failed before opening the pipe,
 * opening it for reading ourselves (non-blocking) releases that writer so nothing stays stuck.
 */
async function releasePendingWriter(path: string, sink: WriteStream): Promise<void> {
  if (!sink.pending) return;
  const reader = await open(path, constants.O_RDONLY | constants.O_NONBLOCK).catch(() => undefined);
  await new Promise<void>((resolve) => (sink.closed ? resolve() : sink.once('close', () => resolve())));
  await reader?.close();
}

/**
 * Decrypts an envelope straight into a new incoming table. CSV streams through a named pipe while
 * DuckDB reads it, so its plaintext exists only in kernel buffers; Parquet is held in memory until
 * the whole envelope has authenticated and `checks.authenticate` has passed, then staged as a 0600
 * file on /dev/shm, loaded and deleted. The caller commits or discards the incoming table.
 */
export async function decryptIntoEngine<T>(
  source: AsyncIterable<Uint8Array>,
  dataKey: (header: EnvelopeHeader) => Uint8Array | undefined,
  shape: TableShape,
  format: 'csv' | 'parquet',
  engine: IngestEngine,
  staging: StagingArea,
  checks: LoadChecks<T>,
): Promise<LoadedIncoming<T>> {
  const load: Load<T> = {
    dataKey,
    shape,
    engine,
    staging,
    checks,
    incomingName: `__incoming_${shape.table}_${randomBytes(6).toString('hex')}`,
  };
  return format === 'csv' ? decryptCsv(source, load) : decryptParquet(source, load);
}

interface Load<T> {
  readonly dataKey: (header: EnvelopeHeader) => Uint8Array | undefined;
  readonly shape: TableShape;
  readonly engine: IngestEngine;
  readonly staging: StagingArea;
  readonly checks: LoadChecks<T>;
  readonly incomingName: string;
}

async function decryptCsv<T>(source: AsyncIterable<Uint8Array>, load: Load<T>): Promise<LoadedIncoming<T>> {
  const { dataKey, shape, engine, staging, checks, incomingName } = load;
  const path = await staging.newPipe();
  // The pipe is opened write-only: that open completes only once DuckDB has opened the read end, so
  // closing our end always reaches DuckDB as end-of-file and its load can never wait forever.
  // A few MiB of buffer lets decryption run ahead while DuckDB parses, instead of waiting on every
  // 1 MiB chunk (measured: decrypt + pipe + load took longer together than the sum of the stages).
  const sink = createWriteStream(path, { flags: 'w', mode: 0o600, highWaterMark: 8 * 1024 * 1024 });
  const gate = new CsvHeaderGate(shape.columns.map((c) => c.name));
  let loadFailure: unknown;
  // Destroying the sink with writes in flight emits an error we already act on; a write error of
  // our own must fail the load, never leave a silently truncated table.
  let sinkFailure: unknown;
  sink.on('error', (error) => {
    sinkFailure ??= error;
  });
  const loading = engine.loadIncoming(shape, { kind: 'csv', path }, incomingName).catch(async (error: unknown) => {
    loadFailure = error;
    sink.destroy();
    await releasePendingWriter(path, sink);
    throw error;
  });
  loading.catch(() => undefined);
  try {
    const opened = await readEnvelope(source, {
      dataKey,
      onPlaintext: async (pieces) => {
        for (const piece of pieces) gate.push(piece);
        await writeAll(sink, pieces, () => loadFailure ?? sinkFailure);
      },
    });
    gate.finish();
    await closeStream(sink);
    if (sinkFailure && !loadFailure) throw sinkFailure;
    // DuckDB has been parsing alongside; a refused envelope's incoming table is dropped below.
    const authenticated = checks.authenticate(opened);
    const rows = await loading;
    return { opened, authenticated, rows, incomingName };
  } catch (error) {
    sink.destroy();
    await loading.catch(() => undefined);
    await engine.discardIncoming(shape, incomingName).catch(() => undefined);
    // `error` is already the load failure when the loader gave up first (writeAll rethrows it).
    throw error;
  } finally {
    await staging.remove(path);
  }
}

async function decryptParquet<T>(source: AsyncIterable<Uint8Array>, load: Load<T>): Promise<LoadedIncoming<T>> {
  const { dataKey, shape, engine, staging, checks, incomingName } = load;
  const held: Uint8Array[] = [];
  let heldBytes = 0;
  const path = staging.newFilePath('parquet');
  try {
    const opened = await readEnvelope(source, {
      dataKey,
      onPlaintext: (pieces) => {
        for (const piece of pieces) {
          heldBytes += piece.length;
          if (heldBytes > checks.maxParquetBytes) {
            throw new PayloadTooLargeError(
              'UPLOAD_PARQUET_TOO_LARGE',
              `The Parquet file is larger than this room's limit of ${checks.maxParquetBytes} bytes for Parquet: ` +
                `it is held in memory until the upload authenticates.`,
              { maxParquetBytes: checks.maxParquetBytes },
            );
          }
          held.push(piece);
        }
      },
    });
    // Every chunk authenticated individually; this checks the envelope as a whole (signed manifest,
    // hashes) before the plaintext may touch even the RAM-backed staging directory.
    const authenticated = checks.authenticate(opened);
    await stageFile(path, held);
    const rows = await engine.loadIncoming(shape, { kind: 'parquet', path }, incomingName);
    return { opened, authenticated, rows, incomingName };
  } catch (error) {
    await engine.discardIncoming(shape, incomingName).catch(() => undefined);
    throw error;
  } finally {
    // Freed buffers keep their bytes until reused: a refused upload's plaintext is wiped now.
    for (const piece of held) piece.fill(0);
    held.length = 0;
    await staging.remove(path);
  }
}

/**
 * Writes held plaintext to a new 0600 file in batches, wiping and dropping each batch once it is on
 * the (RAM-backed) file, so the plaintext is in process memory and the staging file at once for at
 * most one batch rather than the whole file.
 */
async function stageFile(path: string, held: Uint8Array[]): Promise<void> {
  const handle = await open(path, 'wx', 0o600);
  try {
    let next = 0;
    while (next < held.length) {
      const batch: Uint8Array[] = [];
      let bytes = 0;
      while (next < held.length && bytes < STAGE_BATCH_BYTES && batch.length < 1024) {
        const piece = held[next] as Uint8Array;
        held[next] = EMPTY;
        next += 1;
        batch.push(piece);
        bytes += piece.length;
      }
      try {
        let { bytesWritten } = await handle.writev(batch);
        if (bytesWritten < bytes) {
          const rest = Buffer.concat(batch);
          while (bytesWritten < bytes) bytesWritten += (await handle.write(rest, bytesWritten)).bytesWritten;
          rest.fill(0);
        }
      } finally {
        for (const piece of batch) piece.fill(0);
      }
    }
  } finally {
    await handle.close();
  }
}
