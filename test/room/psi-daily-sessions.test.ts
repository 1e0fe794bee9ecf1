import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePsiRule } from '../../src/psi/psi-rules.ts';
import { countPsiSessionOpened } from '../../src/room/psi-daily-sessions.ts';
import { StateDb } from '../../src/store/state-db.ts';
import { expectRefusal } from '../psi/helpers.ts';

const rule = parsePsiRule({
  server: 'acme',
  client: 'globex',
  minSetSize: 10,
  maxSessionsPerDay: 2,
  sessionTtlSeconds: 60,
  normalisation: 'email',
});
const noon = Date.UTC(2025, 0, 1, 12);

let dir: string;
let state: StateDb;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cleanroom-psi-day-'));
  state = await StateDb.open(join(dir, 'state.duckdb'));
});
afterAll(async () => {
  state.close();
  await rm(dir, { recursive: true, force: true });
});

const open = (collaboration: string, now: number) =>
  state.write((tx) => countPsiSessionOpened(tx, collaboration, rule, now));

describe('PSI sessions per member pair per UTC day, in the room state', () => {
  it('limits sessions per collaboration and pair per UTC day, and says when the next day starts', async () => {
    expect(await open('c1', noon)).toBe(1);
    expect(await open('c1', noon + 1000)).toBe(2);
    const error = await expectRefusal(open('c1', noon), 'PSI_RATE_LIMITED', 429);
    expect(error.details['retryAfterSeconds']).toBe(12 * 3600);
    expect(await open('c2', noon)).toBe(1);
    expect(await open('c1', noon + 12 * 3600 * 1000)).toBe(1);
  });

  it('a refused open counts nothing, and the count survives closing the database', async () => {
    await expectRefusal(open('c1', noon), 'PSI_RATE_LIMITED', 429);
    state.close();
    state = await StateDb.open(join(dir, 'state.duckdb'));
    await expectRefusal(open('c1', noon), 'PSI_RATE_LIMITED', 429);
    expect(
      await state.all('SELECT collaboration, day, opened FROM psi_sessions_opened ORDER BY collaboration, day'),
    ).toEqual([
      { collaboration: 'c1', day: '2025-01-01', opened: 2 },
      { collaboration: 'c1', day: '2025-01-02', opened: 1 },
      { collaboration: 'c2', day: '2025-01-01', opened: 1 },
    ]);
  });
});
