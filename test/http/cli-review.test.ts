import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acceptCollaboration } from '../../src/cli/commands/collaboration-commands.ts';
import { reviewTemplateAs } from '../../src/cli/commands/query-commands.ts';
import { RoomClient } from '../../src/client/room-client.ts';
import type { TemplateStatus } from '../../src/room/template-registry.ts';
import { cli, keyFile } from '../support/cli.ts';
import { refusal } from '../support/refusal.ts';
import { startTestRoom, type TestRoom } from '../support/test-room.ts';

let t: TestRoom;
const path = '/v1/collaborations/demo';
const SQL = 'SELECT country, count(*) AS customers FROM advertiser_customers GROUP BY country';
const proposal = (sql: string) => ({
  name: 'by_country',
  collaboration: 'demo',
  description: 'Customers per country',
  sql,
  parameters: {},
});

beforeAll(async () => {
  t = await startTestRoom();
});
afterAll(async () => t.close());

const current = () => t.client('acme-officer').send<TemplateStatus>('GET', `${path}/templates/by_country`);
const approvals = async () => {
  const audit = await t.client('acme-officer').send<{ entries: { action: string }[] }>('GET', `${path}/audit`);
  return audit.entries.filter((e) => e.action === 'template.approved').length;
};

describe('officers sign only the hash they name', () => {
  it('accept: a hash not of the current policy is refused before signing; a named prefix of it is signed', async () => {
    const policyHash = t.room.collaboration('demo').hash;
    expect(
      await refusal(acceptCollaboration(t.client('acme-officer'), t.keys['acme-officer']!, 'demo', '0'.repeat(64))),
    ).toEqual({ status: 0, code: 'POLICY_HASH_MISMATCH' });
    const before = await t.client('acme-officer').send<{ status: { acceptedBy: unknown[] } }>('GET', path);
    expect(before.status.acceptedBy).toEqual([]);

    const out = await cli([
      'accept',
      '--collab',
      'demo',
      '--url',
      t.baseUrl,
      '--key',
      await keyFile(t, 'acme-officer'),
      '--hash',
      policyHash.slice(0, 12),
    ]);
    expect(out).toContain(`accepted policy ${policyHash}`);
    const status = await acceptCollaboration(
      t.client('northwind-officer'),
      t.keys['northwind-officer']!,
      'demo',
      policyHash,
    );
    expect(status.active).toBe(true);
  }, 30_000);

  it('template show → re-proposal → template approve --hash <shown> is refused, and nothing is approved', async () => {
    await t.client('acme-analyst').send('POST', `${path}/templates`, proposal(SQL));
    const key = await keyFile(t, 'acme-officer');
    const common = ['--collab', 'demo', '--url', t.baseUrl, '--key', key, '--name', 'by_country'];
    const shown = /^hash +([0-9a-f]{64})$/m.exec(await cli(['template', 'show', ...common]))?.[1];
    expect(shown).toBe((await current()).hash);

    const changed = await t
      .client('acme-analyst')
      .send<TemplateStatus>('POST', `${path}/templates`, proposal(SQL.replace('AS customers', 'AS people')));
    expect(changed.hash).not.toBe(shown);
    await expect(cli(['template', 'approve', ...common, '--hash', shown!])).rejects.toThrow(
      /exited 7: TEMPLATE_HASH_MISMATCH: The template "by_country" on the room is not the version you named/,
    );
    await expect(cli(['template', 'approve', ...common, '--hash', shown!.slice(0, 12)])).rejects.toThrow(
      /exited 7: TEMPLATE_HASH_MISMATCH/,
    );
    expect((await current()).reviews).toEqual([]);
    expect(await approvals()).toBe(0);
  }, 60_000);

  it('a re-proposal between check and signature is refused by the room (409), and nothing is approved', async () => {
    const reviewed = (await current()).hash;
    /** A client whose GET of the template lets the analyst re-propose it just before the signed POST. */
    class RacingClient extends RoomClient {
      override async send<T>(method: string, target: string, body?: unknown): Promise<T> {
        const answer = await super.send<T>(method, target, body);
        if (method === 'GET')
          await t.client('acme-analyst').send('POST', `${path}/templates`, proposal(`${SQL} ORDER BY country`));
        return answer;
      }
    }
    const racing = new RacingClient(t.baseUrl, t.keys['acme-officer']);
    expect(
      await refusal(reviewTemplateAs(racing, t.keys['acme-officer']!, 'demo', 'by_country', 'approve', reviewed), {
        details: true,
      }),
    ).toMatchObject({ status: 409, code: 'TEMPLATE_HASH_MISMATCH', details: { signedHash: reviewed } });
    expect((await current()).reviews).toEqual([]);
    expect(await approvals()).toBe(0);
  });

  it('the hash shown, in full or by a prefix, is the one signed', async () => {
    const shown = (await current()).hash;
    const approved = await reviewTemplateAs(
      t.client('acme-officer'),
      t.keys['acme-officer']!,
      'demo',
      'by_country',
      'approve',
      shown.slice(0, 16),
    );
    expect(approved).toMatchObject({ hash: shown, runnable: true });
    expect(approved.reviews).toEqual([expect.objectContaining({ member: 'acme', decision: 'approve' })]);
    const out = await cli([
      'template',
      'reject',
      '--collab',
      'demo',
      '--url',
      t.baseUrl,
      '--key',
      await keyFile(t, 'acme-officer'),
      '--name',
      'by_country',
      '--hash',
      shown,
      '--reason',
      'too broad',
    ]);
    expect(out).toContain(`signed "reject" over by_country ${shown}`);
    expect(await approvals()).toBe(1);
  }, 30_000);
});
