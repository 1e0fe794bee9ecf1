import { chmod, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CleanroomError } from '../../src/errors/cleanroom-error.ts';
import { StateDb } from '../../src/store/state-db.ts';
import { fillStateDisk } from '../support/full-disk.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cleanroom-state-'));
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

const charge = (state: StateDb, id: string) =>
  state.write((tx) =>
    tx.run("INSERT INTO budget_charges VALUES ($1, 'demo', 'acme', 'd', '2025-01', 1, 0, now())", [id]),
  );
const charges = async (state: StateDb) => Number((await state.all('SELECT count(*) AS n FROM budget_charges'))[0]?.n);

describe('StateDb on a full disk', () => {
  it('answers a failed COMMIT with STORAGE_UNAVAILABLE (not "cannot rollback"), keeps none, stays usable', async () => {
    const path = join(dir, 'room-state.duckdb');
    const state = await StateDb.open(path);
    await charge(state, 'before');
    const restore = await fillStateDisk(state, path);
    for (const id of ['during-1', 'during-2']) {
      const error: unknown = await charge(state, id).then(
        () => 'committed',
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(CleanroomError);
      expect(error).toMatchObject({ status: 503, code: 'STORAGE_UNAVAILABLE', details: { failure: 'no-space' } });
      // The engine's own text stays in the cause, for the log; the response gets the sentence.
      expect((error as Error).message).not.toMatch(/duckdb|wal|\//i);
      expect(((error as Error).cause as Error).message).toMatch(/No space left on device/);
    }
    expect(await charges(state)).toBe(1);
    // A refusal from the work itself still reaches the caller unchanged, and nothing is left open.
    await expect(
      state.write(async (tx) => {
        await tx.run("INSERT INTO budget_charges VALUES ('x', 'demo', 'acme', 'd', '2025-01', 1, 0, now())");
        throw new Error('refused by the act');
      }),
    ).rejects.toThrow('refused by the act');
    state.close();
    await restore();
    const reopened = await StateDb.open(path);
    expect(await charges(reopened)).toBe(1);
    await charge(reopened, 'after');
    expect(await charges(reopened)).toBe(2);
    reopened.close();
  });
});

describe('StateDb file modes', () => {
  it('makes a state file an older version left 0644 owner-only when it opens it', async () => {
    const path = join(dir, 'old-room-state.duckdb');
    (await StateDb.open(path)).close();
    await chmod(path, 0o644);
    const state = await StateDb.open(path);
    expect(((await stat(path)).mode & 0o777).toString(8)).toBe('600');
    state.close();
  });
});
