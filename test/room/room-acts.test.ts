import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyAuditChain } from '../../src/audit/verify-audit-chain.ts';
import { fromBase64, toBase64 } from '../../src/crypto/bytes.ts';
import { sign } from '../../src/crypto/signatures.ts';
import type { PrincipalKey } from '../../src/keys/principal-key-file.ts';
import { createLogger } from '../../src/log/logger.ts';
import { openRoom, type OpenedRoom } from '../../src/room/open-room.ts';
import { approvalSigningBytes } from '../../src/query/template.ts';
import { acceptanceSigningBytes } from '../../src/room/policy-acceptance.ts';
import { embeddedDefaults } from '../../src/room/room-config.ts';
import type { Room } from '../../src/room/room.ts';
import { demoPolicyWithFreshKeys } from '../support/test-room.ts';

let dir: string;
let opened: OpenedRoom;
let room: Room;
let keys: Record<string, PrincipalKey>;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cleanroom-acts-'));
  const fresh = await demoPolicyWithFreshKeys();
  keys = fresh.keys;
  await mkdir(join(dir, 'policies'));
  await writeFile(join(dir, 'policies', 'demo.json'), JSON.stringify(fresh.policy));
  opened = await openRoom(
    embeddedDefaults(
      {
        dataDirectory: join(dir, 'data'),
        policiesDirectory: join(dir, 'policies'),
        templatesDirectory: join(dir, 'sql'),
        masterKey: undefined,
        engine: { memoryLimit: '256MB', threads: 1, statementTimeoutMs: 10_000 },
      },
      {},
    ),
    createLogger({ level: 'silent', pretty: false }),
  );
  room = opened.room;
});
afterAll(async () => {
  await room.close();
  await rm(dir, { recursive: true, force: true });
});

const principal = (name: string) => room.principal('demo', (keys[name] as PrincipalKey).publicKeyText);
const accept = (officer: string) => {
  const demo = room.collaboration('demo');
  const signature = toBase64(
    sign(acceptanceSigningBytes('demo', demo.hash), (keys[officer] as PrincipalKey).secretKey),
  );
  return room.acceptPolicy(demo, principal(officer), demo.hash, signature);
};
const actions = async () => (await room.auditTrail(room.collaboration('demo'))).map((e) => e.action);

describe('room acts, without HTTP', () => {
  it('keeps its services private: no store handle, engine, keys or staging on a Room', () => {
    // @ts-expect-error the state database is not part of a Room's face
    expect(room.state).toBeUndefined();
    // @ts-expect-error nor is the engine
    expect(room.engine).toBeUndefined();
    // @ts-expect-error nor the keys (publicKeys() gives the public halves)
    expect(room.keys).toBeUndefined();
    // @ts-expect-error nor the staging area
    expect(room.staging).toBeUndefined();
    // @ts-expect-error the services themselves are private (open-room hands them to trusted in-process callers)
    void room.services;
  });

  it('activates a collaboration once an officer of every member accepted, auditing each acceptance once', async () => {
    expect((await room.collaborationStatus(room.collaboration('demo'))).awaiting).toEqual(['acme', 'northwind']);
    expect((await accept('acme-officer')).awaiting).toEqual(['northwind']);
    expect((await accept('acme-officer')).acceptedBy.map((a) => a.principal)).toEqual(['acme-officer']);
    const status = await accept('northwind-officer');
    expect(status).toMatchObject({
      active: true,
      awaiting: [],
      acceptedBy: [{ member: 'acme' }, { member: 'northwind' }],
    });
    expect(await actions()).toEqual(['policy.accepted', 'policy.accepted']);
    const entries = await room.auditTrail(room.collaboration('demo'));
    expect(verifyAuditChain(entries, fromBase64(room.publicKeys().signingPublicKey, 32) as Uint8Array)).toEqual({
      ok: true,
      entries: 2,
      head: entries[1]?.hash,
    });
  });

  it('charges DP budgets with their audit entry, refuses an overspend charging nothing, and refunds', async () => {
    const demo = room.collaboration('demo');
    const ledger = opened.internals.release.ledger;
    const remaining = async () =>
      Object.fromEntries((await room.budgetReport(demo, 'acme')).map((b) => [b.dataset, b.remaining.epsilon]));
    const { chargeId } = await ledger.charge(
      demo,
      'acme',
      'acme-analyst',
      ['advertiser_customers', 'publisher_impressions'],
      { epsilon: 2, delta: 0 },
    );
    expect(await remaining()).toEqual({ advertiser_customers: 1, publisher_impressions: 1 });
    await expect(
      ledger.charge(demo, 'acme', 'acme-analyst', ['advertiser_customers', 'publisher_impressions'], {
        epsilon: 1.5,
        delta: 0,
      }),
    ).rejects.toMatchObject({ status: 429, code: 'DP_BUDGET_EXHAUSTED', details: { dataset: 'advertiser_customers' } });
    expect(await remaining()).toEqual({ advertiser_customers: 1, publisher_impressions: 1 });
    expect((await room.budgetReport(demo, 'northwind')).map((b) => b.remaining.epsilon)).toEqual([3, 3]);
    await ledger.refund('demo', 'acme-analyst', chargeId, 'test');
    expect(await remaining()).toEqual({ advertiser_customers: 3, publisher_impressions: 3 });
    expect((await actions()).slice(-2)).toEqual(['budget.charged', 'budget.refunded']);
  });

  it('takes a template from an analyst only, and makes it runnable once the owner signs this hash', async () => {
    const demo = room.collaboration('demo');
    const document = {
      name: 'people_by_country',
      collaboration: 'demo',
      description: 'Acme customers by country.',
      parameters: {},
      sql: 'SELECT country, count(*) AS people FROM advertiser_customers GROUP BY country',
    };
    await expect(room.proposeTemplate(demo, principal('acme-officer'), document)).rejects.toMatchObject({
      status: 403,
      code: 'ROLE_REQUIRED',
    });
    const proposed = await room.proposeTemplate(demo, principal('northwind-analyst'), document);
    expect(proposed).toMatchObject({ requiredMembers: ['acme'], reviews: [], runnable: false });
    expect((await actions()).at(-1)).toBe('template.proposed');

    const review = (officer: string, hash: string, decision: 'approve' | 'reject', signed = decision) =>
      room.reviewTemplate(demo, principal(officer), document.name, {
        hash,
        decision,
        signature: toBase64(
          sign(approvalSigningBytes('demo', hash, signed), (keys[officer] as PrincipalKey).secretKey),
        ),
      });
    const before = (await actions()).length;
    // Each refusal names its rule, and none records anything.
    await expect(review('acme-officer', 'f'.repeat(64), 'approve')).rejects.toMatchObject({
      status: 409,
      code: 'TEMPLATE_HASH_MISMATCH',
    });
    await expect(review('northwind-officer', proposed.hash, 'approve')).rejects.toMatchObject({
      status: 403,
      code: 'NOT_A_DATA_OWNER',
    });
    await expect(review('acme-officer', proposed.hash, 'approve', 'reject')).rejects.toMatchObject({
      status: 422,
      code: 'REVIEW_BAD_SIGNATURE',
    });
    expect((await actions()).length).toBe(before);

    const approved = await review('acme-officer', proposed.hash, 'approve');
    expect(approved).toMatchObject({ runnable: true, reviews: [{ member: 'acme', decision: 'approve' }] });
    expect((await actions()).slice(before)).toEqual(['template.approved']);
  });

  it('answers a dataset with no upload yet as declared, with no current version', async () => {
    const status = await room.datasetStatus(room.collaboration('demo'), 'advertiser_customers');
    expect(status).toMatchObject({ dataset: { name: 'advertiser_customers' }, current: null });
    await expect(room.datasetStatus(room.collaboration('demo'), 'nothing')).rejects.toMatchObject({
      status: 404,
      code: 'DATASET_NOT_FOUND',
    });
  });
});
