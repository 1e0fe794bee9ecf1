import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPsi } from '../../src/client/run-psi.ts';
import { cli, keyFile } from '../support/cli.ts';
import { refusal } from '../support/refusal.ts';
import { startTestRoom, type TestRoom } from '../support/test-room.ts';

let t: TestRoom;
const path = '/v1/collaborations/demo/psi';

beforeAll(async () => {
  t = await startTestRoom({
    edit: (p) => {
      p.psi![0]!.maxSessionsPerDay = 3;
    },
  });
  await t.acceptAll();
});
afterAll(async () => t.close());

/** psi.opened entries in the audit chain and the room's durable count for today. */
async function opened(): Promise<{ audited: number; counted: number }> {
  const audit = await t
    .client('acme-officer')
    .send<{ entries: { action: string }[] }>('GET', '/v1/collaborations/demo/audit');
  const [row] = await t.internals.state.all('SELECT coalesce(sum(opened), 0) AS n FROM psi_sessions_opened');
  return { audited: audit.entries.filter((e) => e.action === 'psi.opened').length, counted: Number(row?.n) };
}

describe('the daily PSI session limit', () => {
  it('psi serve checks its file before opening a session: a mistyped --column or a small set spends none', async () => {
    const common = [
      '--collab',
      'demo',
      '--url',
      t.baseUrl,
      '--key',
      await keyFile(t, 'northwind-provider'),
      '--partner',
      'acme',
    ];
    await expect(
      cli(['psi', 'serve', ...common, '--file', resolve('fixtures/psi_publisher_emails.csv'), '--column', 'emial']),
    ).rejects.toThrow(/exited 1: .*has no column "emial"/s);
    const small = join(t.dir, 'small.csv');
    await writeFile(small, 'email\na@example.com\nb@example.com\nnot an email\n');
    expect(
      await refusal(
        runPsi({
          client: t.client('northwind-provider'),
          collaboration: 'demo',
          side: 'serve',
          partner: 'acme',
          file: small,
          column: 'email',
        }),
      ),
    ).toEqual({ status: 0, code: 'PSI_SET_TOO_SMALL' });
    expect(await opened()).toEqual({ audited: 0, counted: 0 });
  }, 60_000);

  it('counts opens durably: after a restart the pair still has no session left today', async () => {
    for (let i = 0; i < 3; i++) await t.client('acme-analyst').send('POST', path, { partner: 'northwind' });
    await t.restart();
    expect(
      await refusal(t.client('acme-analyst').send('POST', path, { partner: 'northwind' }), { details: true }),
    ).toMatchObject({ status: 429, code: 'PSI_RATE_LIMITED', details: { maxSessionsPerDay: 3 } });
    expect(await refusal(t.client('northwind-provider').send('POST', path, { partner: 'acme' }))).toEqual({
      status: 429,
      code: 'PSI_RATE_LIMITED',
    });
    expect(await opened()).toEqual({ audited: 3, counted: 3 });
  });
});
