import { constants, createWriteStream, type WriteStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { readEnvelope, type OpenedEnvelope } from '../crypto/envelope-reader.ts';
import type { EnvelopeHeader } from '../crypto/envelope-format.ts';
import type { Dataset } from '../policy/collaboration.ts';
import { CsvHeaderGate } from './csv-header.ts';
import type { StagingArea } from './staging-area.ts';

/** The engine operations a load needs (implemented by the store's DataEngine). */
export interface IngestEngine {
  loadIncoming(shape: TableShape, source: { kind: 'csv' | 'parquet'; path: string }, incomingName: string): Promise<number>;
  commitIncoming(shape: TableShape, incomingName: string): Promise<void>;
  discardIncoming(shape: TableShape, incomingName: string): Promise<void>;
}

export interface TableShape {
  readonly schema: string;
  readonly table: string;
  readonly columns: readonly { readonly name: string; readonly type: string }[];
}

export const tableShape = (collaborationId: string, dataset: Dataset): TableShape => ({
  schema: collaborationId,
  table: dataset.name,
  columns: dataset.columns.map((c) => ({ name: c.name, type: c.type })),
});

export interface LoadedIncoming {
  readonly opened: OpenedEnvelope;
  readonly rows: number;
  readonly incomingName: string;
}

/**
 * Writes pieces to a stream as one writev (corked), waiting for drain, and failing fast if the
 * reader side gave up. One write per chunk rather than per network piece: each write is a
 * thread-pool round trip, and at 64 KB pieces those round trips cost more than the copy.
 */
async function writeAll(stream: WriteStream, pieces: readonly Uint8Array[], readerFailed: () => unknown): Promise<void> {
  const failure = readerFailed();
  if (failure) throw failure;
  stream.cork();
  let room = true;
  for (const piece of pieces) room = stream.write(piece);
  stream.uncork();
  if (room) return;
  await new Promise<void>((resolve, reject) => {
    const done = () => { cleanup(); resolve(); };
    const fail = (error: unknown) => { cleanup(); reject(readerFailed() ?? error); };
    const cleanup = () => { stream.off('drain', done); stream.off('error', fail); stream.off('close', done); };
    stream.on('drain', done).on('error', fail).on('close', done);
  });
  const late = readerFailed();
  if (late) throw late;
}

const closeStream = (stream: WriteStream) => new Promise<void>((resolve) => {
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
 * Decrypts an envelope straight into a new incoming table. CSV streams through a named pipe
 * while DuckDB reads it; Parquet is staged on /dev/shm (0600) once every chunk has authenticated,
 * and deleted as soon as it is loaded. The caller commits or discards the incoming table.
 */
export async function decryptIntoEngine(
  source: AsyncIterable<Uint8Array>,
  dataKey: (header: EnvelopeHeader) => Uint8Array | undefined,
  shape: TableShape,
  format: 'csv' | 'parquet',
  engine: IngestEngine,
  staging: StagingArea,
  observe: (chunk: Uint8Array) => void = () => undefined,
): Promise<LoadedIncoming> {
  const incomingName = `__incoming_${shape.table}_${randomBytes(6).toString('hex')}`;
  const path = format === 'csv' ? await staging.newPipe() : staging.newFilePath('parquet');
  // The pipe is opened write-only: that open completes only once DuckDB has opened the read end, so
  // closing our end always reaches DuckDB as end-of-file and its load can never wait forever.
  // A few MiB of buffer lets decryption run ahead while DuckDB parses, instead of waiting on every
  // 1 MiB chunk (measured: decrypt + pipe + load took longer together than the sum of the stages).
  const sink = createWriteStream(path, { flags: format === 'csv' ? 'w' : 'wx', mode: 0o600, highWaterMark: 8 * 1024 * 1024 });
  const gate = format === 'csv' ? new CsvHeaderGate(shape.columns.map((c) => c.name)) : undefined;
  let loadFailure: unknown;
  // Destroying the sink with writes in flight emits an error we already act on; a write error of
  // our own (e.g. a full /dev/shm) must fail the load, never leave a silently truncated file.
  let sinkFailure: unknown;
  sink.on('error', (error) => {
    sinkFailure ??= error;
  });
  const loading = format === 'csv'
    ? engine.loadIncoming(shape, { kind: 'csv', path }, incomingName).catch(async (error: unknown) => {
        loadFailure = error;
        sink.destroy();
        await releasePendingWriter(path, sink);
        throw error;
      })
    : undefined;
  loading?.catch(() => undefined);
  try {
    const opened = await readEnvelope(source, {
      dataKey,
      onPlaintext: async (pieces) => {
        for (const piece of pieces) {
          observe(piece);
          gate?.push(piece);
        }
        await writeAll(sink, pieces, () => loadFailure ?? sinkFailure);
      },
    });
    gate?.finish();
    await closeStream(sink);
    if (sinkFailure && !loadFailure) throw sinkFailure;
    const rows = loading ? await loading : await engine.loadIncoming(shape, { kind: 'parquet', path }, incomingName);
    return { opened, rows, incomingName };
  } catch (error) {
    sink.destroy();
    await loading?.catch(() => undefined);
    await engine.discardIncoming(shape, incomingName).catch(() => undefined);
    // `error` is already the load failure when the loader gave up first (writeAll rethrows it).
    throw error;
  } finally {
    await staging.remove(path);
  }
}
