import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyAuditChain } from '../../src/audit/verify-audit-chain.ts';
import type { AuditEntry } from '../../src/audit/audit-entry.ts';
import { uploadFile } from '../../src/client/upload-file.ts';
import { fromBase64 } from '../../src/crypto/bytes.ts';
import { openPartialFile, type OpenPartialFile } from '../../src/room/ciphertext-tee.ts';
import { customersCsv } from '../support/fixture-csv.ts';
import { fillStateDisk, openOnFullDisk } from '../support/full-disk.ts';
import { refusal } from '../support/refusal.ts';
import { startTestRoom, type TestRoom } from '../support/test-room.ts';

let t: TestRoom;
/** What the room's tee gets when it creates a partial envelope: the real file unless a test swaps it. */
let disk: OpenPartialFile = openPartialFile;

const upload = async (rows: number, seed: number) => {
  const file = join(t.dir, `customers-${rows}-${seed}.csv`);
  await writeFile(file, customersCsv(rows, { seed }));
  return uploadFile({
    client: t.client('acme-provider'),
    key: t.keys['acme-provider']!,
    collaboration: 'demo',
    dataset: 'advertiser_customers',
    file,
  });
};
const count = () =>
  t.client('acme-analyst').send<{ rows: unknown[][] }>('POST', '/v1/collaborations/demo/queries', {
    sql: 'SELECT count(*) AS n FROM advertiser_customers',
  });
const dpCount = () =>
  t.client('acme-analyst').send('POST', '/v1/collaborations/demo/queries', {
    sql: 'SELECT age_band, count(*) AS n FROM advertiser_customers GROUP BY age_band',
    dp: { epsilon: 0.5 },
  });
const envelopeFiles = async () => (await readdir(join(t.config.dataDirectory, 'envelopes', 'demo'))).sort();

beforeAll(async () => {
  t = await startTestRoom({ openPartialFile: (path) => disk(path) });
  await t.acceptAll();
  expect(await upload(300, 1)).toMatchObject({ version: 1, rows: 300 });
});
afterAll(async () => t.close());

describe('a full or read-only disk', () => {
  it('answers an upload whose envelope cannot be written with 503 STORAGE_UNAVAILABLE, keeping version 1', async () => {
    const before = await envelopeFiles();
    disk = openOnFullDisk;
    try {
      const refused = await refusal(upload(10_000, 2), { details: true });
      expect(refused).toEqual({
        status: 503,
        code: 'STORAGE_UNAVAILABLE',
        details: { failure: 'no-space', dataset: 'advertiser_customers', currentVersion: 1 },
      });
      disk = () => Promise.reject(Object.assign(new Error('EROFS: read-only file system, open'), { code: 'EROFS' }));
      expect(await refusal(upload(50, 3), { details: true })).toMatchObject({
        status: 503,
        code: 'STORAGE_UNAVAILABLE',
        details: { failure: 'read-only' },
      });
    } finally {
      disk = openPartialFile;
    }
    expect(await envelopeFiles()).toEqual(before);
    expect((await count()).rows).toEqual([[300]]);
    expect(await upload(120, 4)).toMatchObject({ version: 2, rows: 120 });
  });

  it(
    'answers DP queries and uploads with 503 while the state database cannot write, charging nothing and ' +
      'losing nothing',
    async () => {
      const statePath = join(t.config.dataDirectory, 'room-state.duckdb');
      const envelopes = await envelopeFiles();
      const restore = await fillStateDisk(t.internals.state, statePath);
      try {
        expect(await refusal(dpCount(), { details: true })).toEqual({
          status: 503,
          code: 'STORAGE_UNAVAILABLE',
          details: { failure: 'no-space' },
        });
        expect(await refusal(upload(80, 5))).toEqual({ status: 503, code: 'STORAGE_UNAVAILABLE' });
        expect(await envelopeFiles()).toEqual(envelopes);
        expect(
          Number((await t.internals.engine.query('SELECT count(*) FROM demo.advertiser_customers')).rows[0]?.[0]),
        ).toBe(120);
      } finally {
        await restore();
      }
      // DuckDB keeps its WAL handle until it closes: a restart is what brings the disk back here.
      await t.restart();
      expect((await count()).rows).toEqual([[120]]);
      const info = await t
        .client('acme-officer')
        .send<{ current: { version: number } }>('GET', '/v1/collaborations/demo/datasets/advertiser_customers');
      expect(info.current.version).toBe(2);
      const dp = await t
        .client('acme-analyst')
        .send<{ privacy: { remaining: Record<string, { epsilon: number }> } }>(
          'POST',
          '/v1/collaborations/demo/queries',
          {
            sql: 'SELECT age_band, count(*) AS n FROM advertiser_customers GROUP BY age_band',
            dp: { epsilon: 0.5 },
          },
        );
      const full = t.policy.datasets[0]!.rules.dp!.budget.epsilon;
      expect(dp.privacy.remaining.advertiser_customers?.epsilon).toBeCloseTo(full - 0.5);
      const audit = await t
        .client('acme-officer')
        .send<{ entries: AuditEntry[] }>('GET', '/v1/collaborations/demo/audit');
      const room = await t.client('acme-officer').getPublic<{ signingPublicKey: string }>('/v1/room');
      expect(verifyAuditChain(audit.entries, fromBase64(room.signingPublicKey, 32)!)).toMatchObject({ ok: true });
    },
  );
});
