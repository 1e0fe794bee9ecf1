import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { lstat, mkdtemp, readdir, readFile, rm, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

const PREFIX = 'cleanroom-staging-';
/** `cleanroom-staging-<pid>-<start time>-<random>`: the owner is in the name from the moment mkdtemp creates it. */
const OWNED = /^cleanroom-staging-(\d+)-([0-9a-z]+)-[A-Za-z0-9]{6}$/;
const HAS_PROC = existsSync('/proc/self/stat');

/** Where staging directories live: RAM-backed /dev/shm when the system has it. */
export const stagingParent = (): string => (existsSync('/dev/shm') ? '/dev/shm' : tmpdir());

/**
 * A process's start time (clock ticks since boot, /proc/<pid>/stat field 22), or undefined if no
 * such process runs. A pid alone can be reused after its process died; pid and start time cannot.
 */
async function startTimeOf(pid: number): Promise<string | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  // Field 2 (the command name) is in parentheses and may hold spaces: count from after it.
  return stat?.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
}

/** Whether the room that made a directory still runs. Without /proc only the pid can be checked. */
async function ownerAlive(pid: number, startTime: string): Promise<boolean> {
  if (HAS_PROC) return (await startTimeOf(pid)) === startTime;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface StagingSweep {
  /** directories of rooms that no longer run, deleted */
  readonly removed: readonly string[];
  /** directories in the old naming without an owner: they may belong to a running older room, so they are kept */
  readonly ownerUnknown: readonly string[];
}

/**
 * A private, randomly named directory that DuckDB may read loads from (its only allowed path).
 * CSV arrives through a named pipe, so plaintext exists only in kernel buffers; Parquet needs
 * seeking, so it is staged as a 0600 file on RAM-backed /dev/shm and deleted right after the load.
 * The owning room's pid and start time are part of the name, so a later start can tell a directory
 * a killed room left behind (with whatever plaintext it was loading) from one a live room uses.
 */
export class StagingArea {
  private constructor(
    readonly directory: string,
    readonly ramBacked: boolean,
  ) {}

  static async create(): Promise<StagingArea> {
    const parent = stagingParent();
    const owner = `${process.pid}-${(await startTimeOf(process.pid)) ?? '0'}`;
    const directory = await mkdtemp(join(parent, `${PREFIX}${owner}-`));
    return new StagingArea(directory, parent === '/dev/shm');
  }

  /**
   * Deletes the staging directories of rooms that are no longer running (a kill -9 mid-load leaves
   * its directory and the plaintext in it). A directory whose owner still runs is never touched,
   * nor one that is not ours (another user's, a symlink).
   */
  static async sweepStale(parent = stagingParent()): Promise<StagingSweep> {
    const removed: string[] = [];
    const ownerUnknown: string[] = [];
    for (const name of await readdir(parent).catch(() => [])) {
      if (!name.startsWith(PREFIX)) continue;
      const path = join(parent, name);
      const info = await lstat(path).catch(() => undefined);
      if (!info?.isDirectory() || (process.getuid && info.uid !== process.getuid())) continue;
      const owner = OWNED.exec(name);
      if (!owner) {
        ownerUnknown.push(path);
        continue;
      }
      if (await ownerAlive(Number(owner[1]), owner[2] as string)) continue;
      await rm(path, { recursive: true, force: true });
      removed.push(path);
    }
    return { removed, ownerUnknown };
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
