import { readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPsi } from '../../src/client/run-psi.ts';
import { cli, keyFile } from '../support/cli.ts';
import { startTestRoom, type TestRoom } from '../support/test-room.ts';
import { refusal } from '../support/refusal.ts';

let t: TestRoom;
const path = '/v1/collaborations/demo/psi';

/** The plain-Set answer the protocol must reproduce: trimmed, lower-cased, NFC e-mails. */
async function plainIntersection(a: string, b: string): Promise<number> {
  const read = async (file: string) =>
    new Set(
      (await readFile(file, 'utf8'))
        .split('\n')
        .slice(1)
        .map((l) => l.replace(/^"|"$/g, '').normalize('NFC').trim().toLowerCase())
        .filter(Boolean),
    );
  const [x, y] = [await read(a), await read(b)];
  return [...x].filter((v) => y.has(v)).length;
}

beforeAll(async () => {
  t = await startTestRoom();
  await t.acceptAll();
});
afterAll(async () => t.close());

describe('PSI through a running room', () => {
  it('two CLI processes intersect fixture identifier columns and print the plain set intersection size', async () => {
    const advertiser = resolve('fixtures/psi_advertiser_emails.csv');
    const publisher = resolve('fixtures/psi_publisher_emails.csv');
    const expected = await plainIntersection(advertiser, publisher);
    let session!: (id: string) => void;
    const opened = new Promise<string>((r) => {
      session = r;
    });
    const common = ['--collab', 'demo', '--column', 'email', '--url', t.baseUrl];
    const server = cli(
      [
        'psi',
        'serve',
        ...common,
        '--key',
        await keyFile(t, 'northwind-provider'),
        '--file',
        publisher,
        '--partner',
        'acme',
        '--exact',
      ],
      (line) => {
        const match = /^session: (\S+)/.exec(line);
        if (match) session(match[1] as string);
      },
    );
    const client = cli([
      'psi',
      'join',
      ...common,
      '--key',
      await keyFile(t, 'acme-analyst'),
      '--file',
      advertiser,
      '--session',
      await opened,
    ]);
    const [, clientOut] = await Promise.all([server, client]);
    expect(clientOut).toContain(`intersection: ${expected.toLocaleString('en')} shared identifiers`);
    const audit = await t
      .client('acme-officer')
      .send<{ entries: { action: string; details: Record<string, unknown> }[] }>(
        'GET',
        '/v1/collaborations/demo/audit',
      );
    expect(audit.entries.map((e) => e.action)).toEqual(expect.arrayContaining(['psi.opened', 'psi.completed']));
    // The room saw set sizes, never identifiers.
    expect(JSON.stringify(audit.entries)).not.toContain('@example');
  }, 240_000);
});

describe('PSI refusals', () => {
  it('refuses principals without a data role, and member pairs without a rule', async () => {
    expect(await refusal(t.client('acme-officer').send('POST', path, { partner: 'northwind' }))).toMatchObject({
      status: 403,
      code: 'ROLE_REQUIRED',
    });
    expect(await refusal(t.client('acme-analyst').send('POST', path, { partner: 'acme' }))).toMatchObject({
      status: 403,
      code: 'PSI_NOT_ALLOWED',
    });
  });

  it('refuses the wrong step, the wrong role for a message, and a malformed message', async () => {
    const session = await t.client('northwind-provider').send<{ id: string }>('POST', path, { partner: 'acme' });
    const base = `${path}/${session.id}`;
    expect(await refusal(t.client('northwind-provider').sendBytes('GET', `${base}/request`))).toMatchObject({
      status: 409,
      code: 'PSI_WRONG_STEP',
    });
    expect(
      await refusal(t.client('acme-analyst').sendBytes('PUT', `${base}/setup`, new Uint8Array([1, 1, 0, 0, 0, 1]))),
    ).toMatchObject({ status: 403 });
    expect(
      await refusal(
        t
          .client('northwind-provider')
          .sendBytes('PUT', `${base}/setup`, new Uint8Array([1, 1, 0, 0, 0, 1, 0, 0, 0, 9, 7])),
      ),
    ).toMatchObject({ status: 400, code: 'PSI_MALFORMED_MESSAGE' });
    expect(
      await refusal(
        t.client('northwind-provider').sendBytes('PUT', `${base}/setup`, new TextEncoder().encode('not a psi message')),
      ),
    ).toMatchObject({ status: 400, code: 'PSI_MALFORMED_MESSAGE' });
  });

  it('refuses a one-element set before anything is sent', async () => {
    const file = join(t.dir, 'one.csv');
    await writeFile(file, 'email\nsomeone@example.com\n');
    const result = await refusal(
      runPsi({
        client: t.client('acme-analyst'),
        collaboration: 'demo',
        side: 'join',
        partner: 'northwind',
        file,
        column: 'email',
      }),
    );
    expect(result.code).toBe('PSI_SET_TOO_SMALL');
  });

  it('rate-limits sessions per member pair per day', async () => {
    const codes: string[] = [];
    for (let i = 0; i < 6; i++)
      codes.push((await refusal(t.client('acme-analyst').send('POST', path, { partner: 'northwind' }))).code);
    expect(codes).toContain('PSI_RATE_LIMITED');
    expect(await refusal(t.client('acme-analyst').send('POST', path, { partner: 'northwind' }))).toMatchObject({
      status: 429,
      code: 'PSI_RATE_LIMITED',
    });
  });
});
