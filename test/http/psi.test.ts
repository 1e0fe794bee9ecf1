import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPsi } from '../../src/client/run-psi.ts';
import { ADVERTISER_EMAILS, plainIntersection, psiThroughCli, PUBLISHER_EMAILS } from '../support/psi-cli.ts';
import { startTestRoom, type TestRoom } from '../support/test-room.ts';
import { refusal } from '../support/refusal.ts';

let t: TestRoom;
const path = '/v1/collaborations/demo/psi';

beforeAll(async () => {
  t = await startTestRoom();
  await t.acceptAll();
});
afterAll(async () => t.close());

describe('PSI through a running room', () => {
  it('two CLI processes intersect fixture identifier columns and print the plain set intersection size', async () => {
    const expected = await plainIntersection(ADVERTISER_EMAILS, PUBLISHER_EMAILS);
    const { clientOut } = await psiThroughCli(t, { serveArgs: ['--exact'] });
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
