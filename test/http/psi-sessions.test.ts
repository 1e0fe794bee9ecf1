import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEntry } from '../../src/audit/audit-entry.ts';
import { keyFile, runCli } from '../support/cli.ts';
import { refusal } from '../support/refusal.ts';
import { startTestRoom, type TestRoom } from '../support/test-room.ts';

// Issue #13: `psi serve` used to hold a session (and its terminal) until the partner joined or the
// TTL ran out, with no way to see or end it. Members now list their live sessions and either party
// cancels one; the other party's next step finds no session, and the act is audited.
const path = '/v1/collaborations/demo';
let t: TestRoom;

beforeAll(async () => {
  t = await startTestRoom();
  await t.acceptAll();
}, 60_000);
afterAll(async () => t.close());

const cli = async (principal: string, ...args: string[]) =>
  runCli(['psi', ...args, '--collab', 'demo', '--url', t.baseUrl, '--key', await keyFile(t, principal)]);

describe('psi sessions and psi cancel', () => {
  it('lists a member’s live sessions to both parties only, and either party ends one', async () => {
    const opened = await t
      .client('northwind-provider')
      .send<{ id: string; state: string }>('POST', `${path}/psi`, { partner: 'acme' });
    const listed = await cli('acme-analyst', 'sessions', '--json');
    expect(listed.code).toBe(0);
    expect(JSON.parse(listed.stdout)).toEqual([
      expect.objectContaining({ id: opened.id, role: 'client', server: 'northwind', client: 'acme', state: 'opened' }),
    ]);
    const table = await cli('northwind-provider', 'sessions');
    expect(table.stdout).toMatch(new RegExp(`${opened.id} +server +acme +opened`));
    // Not a party (an officer has no PSI role): refused, and nothing listed to it.
    expect((await cli('acme-officer', 'sessions')).code).toBe(3);

    const cancelled = await cli('acme-analyst', 'cancel', '--session', opened.id);
    expect(cancelled).toMatchObject({ code: 0, stdout: '' });
    expect(cancelled.stderr).toMatch(new RegExp(`cancelled session ${opened.id} \\(was opened\\); audit #\\d+`));
    expect(await refusal(t.client('northwind-provider').send('GET', `${path}/psi/${opened.id}`))).toEqual({
      status: 404,
      code: 'PSI_SESSION_NOT_FOUND',
    });
    expect(JSON.parse((await cli('northwind-provider', 'sessions', '--json')).stdout)).toEqual([]);
    expect((await cli('northwind-provider', 'cancel', '--session', opened.id)).code).toBe(6);
    const { entries } = await t.client('acme-officer').send<{ entries: AuditEntry[] }>('GET', `${path}/audit`);
    expect(entries.at(-1)).toMatchObject({
      actor: 'acme-analyst',
      action: 'psi.cancelled',
      details: { session: opened.id, server: 'northwind', client: 'acme', state: 'opened' },
    });
  });

  it('refuses --partner with --session as a usage error', async () => {
    const run = await cli(
      'acme-analyst',
      'join',
      '--partner',
      'northwind',
      '--session',
      'x',
      '--file',
      'f',
      '--column',
      'c',
    );
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--partner.*cannot be used with.*--session/);
  });
});
