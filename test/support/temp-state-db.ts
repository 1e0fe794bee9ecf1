import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach } from 'vitest';
import { StateDb } from '../../src/store/state-db.ts';

/** A fresh room-state database per test, in a temp directory removed afterwards. */
export function useTempStateDb(): () => StateDb {
  let dir: string;
  let state: StateDb | undefined;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cleanroom-state-repo-'));
    state = await StateDb.open(join(dir, 'room-state.duckdb'));
  });
  afterEach(async () => {
    state?.close();
    state = undefined;
    await rm(dir, { recursive: true, force: true });
  });
  return () => {
    if (!state) throw new Error('the state database is open only inside a test');
    return state;
  };
}
