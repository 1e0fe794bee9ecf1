import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEntry } from '../../src/audit/audit-entry.ts';
import { verifyAuditChain } from '../../src/audit/verify-audit-chain.ts';
import { DEMO_EXTRACT } from '../../src/cli/demo/demo-extract.ts';
import { toBase64 } from '../../src/crypto/bytes.ts';
import { sign } from '../../src/crypto/signatures.ts';
import { approvalSigningBytes } from '../../src/query/template.ts';
import { refusal } from '../support/refusal.ts';
import { startTestRoom, uploadDemoDataset, type TestRoom } from '../support/test-room.ts';

// Issue #12, retention and deletion: a deleted dataset is crypto-shredded (its storage key destroyed,
// its versions' data keys erased), its envelopes unlinked and its table dropped, in one audited act;
// the audit chain still verifies. Each claim is checked on the room's own files, state and engine.
const path = '/v1/collaborations/demo';
const DAY = 86_400_000;
let t: TestRoom;

beforeAll(async () => {
  // Re-publication allowed, so an extract can be taken of each new version.
  t = await startTestRoom({
    edit: (policy) => {
      const customers = policy.datasets.find((d) => d.name === 'advertiser_customers')!;
      customers.rules.extract = { ...customers.rules.extract!, republish: true };
    },
  });
  await t.acceptAll();
  for (const dataset of ['advertiser_customers', 'publisher_impressions']) await uploadDemoDataset(t, dataset);
}, 60_000);
afterAll(async () => t.close());

const envelopesOf = async (dataset: string) =>
  (await readdir(join(t.config.dataDirectory, 'envelopes', 'demo')).catch(() => [] as string[])).filter((f) =>
    f.startsWith(`${dataset}.`),
  );
const versionRows = (dataset: string) =>
  t.internals.state.all(
    'SELECT version, wrapped_data_key, deleted_at FROM dataset_versions ' +
      "WHERE collaboration = 'demo' AND dataset = $1 " +
      'ORDER BY version',
    [dataset],
  );
const storageKeyRows = (dataset: string) =>
  t.internals.state.all("SELECT 1 FROM storage_keys WHERE collaboration = 'demo' AND dataset = $1", [dataset]);
const count = (sql: string) => t.client('acme-analyst').send<{ rows: unknown[][] }>('POST', `${path}/queries`, { sql });
const COUNT_CUSTOMERS =
  'SELECT country, count(DISTINCT email_hash) AS people FROM advertiser_customers GROUP BY country';
const chainVerifies = async () => {
  const { entries } = await t.client('acme-officer').send<{ entries: AuditEntry[] }>('GET', `${path}/audit`);
  expect(verifyAuditChain(entries, t.internals.keys.signing.publicKey)).toMatchObject({ ok: true });
  return entries;
};

describe('deleting a dataset', () => {
  it('only the owner’s provider or officer may', async () => {
    for (const who of ['acme-analyst', 'northwind-officer', 'northwind-provider'])
      expect(await refusal(t.client(who).send('DELETE', `${path}/datasets/advertiser_customers`))).toEqual({
        status: 403,
        code: 'NOT_DATASET_OWNER',
      });
    expect((await count(COUNT_CUSTOMERS)).rows.length).toBeGreaterThan(0);
  });

  it('shreds it: no envelope, key, table or sealed extract; queries find nothing; the chain verifies', async () => {
    // A sealed extract of the dataset, released to Northwind's modeler, is held in the room until then.
    await t.client('northwind-analyst').send('POST', `${path}/extract-templates`, DEMO_EXTRACT);
    const { hash } = await t
      .client('acme-officer')
      .send<{ hash: string }>('GET', `${path}/extract-templates/${DEMO_EXTRACT.name}`);
    await t.client('acme-officer').send('POST', `${path}/extract-templates/${DEMO_EXTRACT.name}/approvals`, {
      hash,
      decision: 'approve',
      signature: toBase64(sign(approvalSigningBytes('demo', hash, 'approve'), t.keys['acme-officer']!.secretKey)),
    });
    await t.client('northwind-analyst').send('POST', `${path}/extracts`, { template: DEMO_EXTRACT.name });
    const extracts = () => readdir(join(t.config.dataDirectory, 'extracts', 'demo')).catch(() => [] as string[]);
    expect(await extracts()).toHaveLength(1);
    expect(await envelopesOf('advertiser_customers')).toHaveLength(1);
    expect(await storageKeyRows('advertiser_customers')).toHaveLength(1);
    const deleted = await t
      .client('acme-officer')
      .send<{ versions: number[]; whole: boolean; auditSeq: number }>(
        'DELETE',
        `${path}/datasets/advertiser_customers`,
      );
    expect(deleted).toMatchObject({ versions: [1], whole: true });

    expect(await envelopesOf('advertiser_customers')).toEqual([]);
    expect(await storageKeyRows('advertiser_customers')).toEqual([]);
    expect(await extracts()).toEqual([]);
    const rows = await versionRows('advertiser_customers');
    expect(rows.map((r) => [r.wrapped_data_key, r.deleted_at !== null])).toEqual([['', true]]);
    expect(t.internals.engine.tableExists('demo', 'advertiser_customers')).toBe(false);
    await expect(t.internals.engine.query('SELECT count(*) FROM demo.advertiser_customers')).rejects.toThrow();
    expect(await refusal(count(COUNT_CUSTOMERS))).toEqual({ status: 409, code: 'DATASET_NOT_LOADED' });
    const status = await t
      .client('acme-analyst')
      .send<{ current: unknown }>('GET', `${path}/datasets/advertiser_customers`);
    expect(status.current).toBeNull();

    const entries = await chainVerifies();
    expect(entries.at(-1)).toMatchObject({
      seq: deleted.auditSeq,
      actor: 'acme-officer',
      action: 'dataset.deleted',
      details: { dataset: 'advertiser_customers', versions: [1], storageKeyDestroyed: true },
    });
    // Nothing comes back at a restart, and the other member's dataset is untouched.
    await t.restart();
    expect(t.internals.engine.tableExists('demo', 'advertiser_customers')).toBe(false);
    expect(t.internals.engine.tableExists('demo', 'publisher_impressions')).toBe(true);
    expect(await refusal(t.client('acme-officer').send('DELETE', `${path}/datasets/advertiser_customers`))).toEqual({
      status: 404,
      code: 'DATASET_NOT_LOADED',
    });
  });

  it('a new upload after deletion starts a new version under a new storage key', async () => {
    await uploadDemoDataset(t, 'advertiser_customers');
    expect((await versionRows('advertiser_customers')).map((r) => r.version)).toEqual([1, 2]);
    expect(await storageKeyRows('advertiser_customers')).toHaveLength(1);
    expect((await count(COUNT_CUSTOMERS)).rows.length).toBeGreaterThan(0);
  });
});

describe('retention', () => {
  it('an older version past its retention goes alone, with its extracts; the current one keeps serving', async () => {
    // An extract of version 2 (the template approved above still stands), then version 3.
    const { extract } = await t
      .client('northwind-analyst')
      .send<{ extract: string }>('POST', `${path}/extracts`, { template: DEMO_EXTRACT.name });
    const download = () => t.client('northwind-analyst').send('GET', `${path}/extracts/${extract}`);
    await download();
    await uploadDemoDataset(t, 'advertiser_customers');
    const retention = t.room.collaboration('demo').datasets.get('advertiser_customers')!.retentionDays;
    await t.internals.state.write((tx) =>
      tx.run(
        "UPDATE dataset_versions SET uploaded_at = $1 WHERE collaboration = 'demo' AND dataset = " +
          "'advertiser_customers' AND version = 2",
        [new Date(Date.now() - (retention + 1) * DAY).toISOString()],
      ),
    );
    const swept = await t.room.sweepRetention();
    expect(swept).toEqual([expect.objectContaining({ dataset: 'advertiser_customers', versions: [2], whole: false })]);
    expect((await versionRows('advertiser_customers')).map((r) => r.deleted_at !== null)).toEqual([true, true, false]);
    expect(await envelopesOf('advertiser_customers')).toHaveLength(1);
    expect(await storageKeyRows('advertiser_customers')).toHaveLength(1);
    expect((await count(COUNT_CUSTOMERS)).rows.length).toBeGreaterThan(0);
    expect(await readdir(join(t.config.dataDirectory, 'extracts', 'demo'))).toEqual([]);
    expect(await refusal(download())).toEqual({ status: 404, code: 'EXTRACT_DELETED' });
  });

  it('a dataset whose newest version is past retention goes whole, by the room, audited with the rule', async () => {
    const impressions = t.room.collaboration('demo').datasets.get('publisher_impressions')!;
    const customers = t.room.collaboration('demo').datasets.get('advertiser_customers')!;
    expect(impressions.retentionDays).toBeLessThan(customers.retentionDays);
    expect(await t.room.sweepRetention(Date.now() + (impressions.retentionDays - 1) * DAY)).toEqual([]);
    const swept = await t.room.sweepRetention(Date.now() + (impressions.retentionDays + 1) * DAY);
    expect(swept).toEqual([expect.objectContaining({ dataset: 'publisher_impressions', whole: true })]);
    expect(t.internals.engine.tableExists('demo', 'publisher_impressions')).toBe(false);
    expect(await envelopesOf('publisher_impressions')).toEqual([]);
    expect(await storageKeyRows('publisher_impressions')).toEqual([]);
    expect(t.internals.engine.tableExists('demo', 'advertiser_customers')).toBe(true);
    const entries = await chainVerifies();
    expect(entries.at(-1)).toMatchObject({
      actor: 'room',
      action: 'dataset.deleted',
      details: {
        dataset: 'publisher_impressions',
        reason: `retention: ${impressions.retentionDays} days after upload`,
      },
    });
  });
});
