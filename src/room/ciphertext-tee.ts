import { open, type FileHandle } from 'node:fs/promises';
import { totalLength } from '../crypto/bytes.ts';

/**
 * Ciphertext is written to disk in batches of about this size (or piece count): one write per MiB, not per network
 * piece.
 */
const TEE_BATCH_BYTES = 1024 * 1024;
const TEE_BATCH_PIECES = 1024;

/** The file operations the tee needs. */
export type TeeFile = Pick<FileHandle, 'writev' | 'write' | 'sync' | 'close'>;

/** Creates the partial envelope file. Only a test simulating a failing disk passes another. */
export type OpenPartialFile = (path: string) => Promise<TeeFile>;

export const openPartialFile: OpenPartialFile = (path) => open(path, 'wx', 0o600);

async function writeFully(handle: TeeFile, pieces: readonly Uint8Array[]): Promise<void> {
  const total = totalLength(pieces);
  let { bytesWritten } = await handle.writev(pieces);
  if (bytesWritten === total) return;
  const rest = Buffer.concat(pieces);
  while (bytesWritten < total) bytesWritten += (await handle.write(rest, bytesWritten)).bytesWritten;
}

/**
 * Copies the ciphertext to disk as it passes: the store of record is the envelope as signed.
 * Network pieces (~64 KB) are gathered into 1 MiB writev calls with one write in flight, so disk
 * writes cost a thread-pool round trip per MiB and a failed write fails the upload at the next
 * batch. The uploader closes it: a refused upload abandons `through` mid-stream, where the
 * generator's own cleanup would never run.
 */
export class CiphertextTee {
  private batch: Uint8Array[] = [];
  private batchBytes = 0;
  private inFlight: Promise<void> | undefined;
  private closed = false;

  private constructor(private readonly handle: TeeFile) {}

  static async create(path: string, openFile: OpenPartialFile = openPartialFile): Promise<CiphertextTee> {
    return new CiphertextTee(await openFile(path));
  }

  async *through(source: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
    for await (const piece of source) {
      this.batch.push(piece);
      this.batchBytes += piece.length;
      if (this.batchBytes >= TEE_BATCH_BYTES || this.batch.length >= TEE_BATCH_PIECES) await this.flush();
      yield piece;
    }
    await this.flush();
    await this.inFlight;
  }

  /** Makes what was written durable; only after `through` has run to its end. */
  async sync(): Promise<void> {
    await this.handle.sync();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.inFlight?.catch(() => undefined);
    await this.handle.close();
  }

  private async flush(): Promise<void> {
    await this.inFlight;
    const pieces = this.batch;
    this.batch = [];
    this.batchBytes = 0;
    this.inFlight = pieces.length > 0 ? writeFully(this.handle, pieces) : undefined;
    this.inFlight?.catch(() => undefined);
  }
}
