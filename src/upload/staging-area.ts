import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * A private, randomly named directory that DuckDB may read loads from (its only allowed path).
 * CSV arrives through a named pipe, so plaintext exists only in kernel buffers; Parquet needs
 * seeking, so it is staged as a 0600 file on RAM-backed /dev/shm and deleted right after the load.
 */
export class StagingArea {
  private constructor(readonly directory: string, readonly ramBacked: boolean) {}

  static async create(): Promise<StagingArea> {
    const ramBacked = existsSync('/dev/shm');
    const directory = await mkdtemp(join(ramBacked ? '/dev/shm' : tmpdir(), 'cleanroom-staging-'));
    return new StagingArea(directory, ramBacked);
  }

  /** A fresh named pipe path. */
  async newPipe(): Promise<string> {
    const path = join(this.directory, `${randomBytes(12).toString('hex')}.pipe`);
    await run('mkfifo', ['-m', '600', path]);
    return path;
  }

  newFilePath(extension: string): string {
    return join(this.directory, `${randomBytes(12).toString('hex')}.${extension}`);
  }

  async remove(path: string): Promise<void> {
    await unlink(path).catch(() => undefined);
  }

  /** Empties the directory: nothing of one load survives into the next. */
  async empty(): Promise<void> {
    for (const name of await readdir(this.directory).catch(() => [])) await this.remove(join(this.directory, name));
  }

  async destroy(): Promise<void> {
    await rm(this.directory, { recursive: true, force: true });
  }
}
