import { open, symlink, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import type { StateDb } from '../../src/store/state-db.ts';

/**
 * A real "no space left on device" without root or a small file system: /dev/full accepts opens
 * and fails every write with ENOSPC. After a CHECKPOINT DuckDB has no WAL open; pointing the WAL's
 * path at /dev/full makes the next commit's WAL write fail in the kernel, as on a full disk.
 * (DuckDB keeps that handle until the database closes, so only a restart clears it.)
 */
export async function fillStateDisk(state: StateDb, path: string): Promise<() => Promise<void>> {
  await state.all('CHECKPOINT');
  await symlink('/dev/full', `${path}.wal`);
  return () => unlink(`${path}.wal`);
}

/** A partial-envelope opener for the room's tee seam: the file is created, but writes go to /dev/full. */
export async function openOnFullDisk(path: string): Promise<FileHandle> {
  await (await open(path, 'wx', 0o600)).close();
  return open('/dev/full', 'w');
}
