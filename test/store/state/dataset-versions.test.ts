import { describe, expect, it } from 'vitest';
import {
  currentVersion,
  currentVersions,
  envelopeFiles,
  latestVersionNumber,
  recordVersion,
  type DatasetVersion,
} from '../../../src/store/state/dataset-versions.ts';
import { useTempStateDb } from '../../support/temp-state-db.ts';

const state = useTempStateDb();
const uploadedAt = '2025-03-04T05:06:07.000Z';
const version = (
  collaboration: string,
  dataset: string,
  n: number,
  over: Partial<DatasetVersion> = {},
): DatasetVersion => ({
  collaboration,
  dataset,
  version: n,
  envelopeFile: `${collaboration}/${dataset}.${n}.env`,
  envelopeSha256: `sha-${collaboration}-${dataset}-${n}`,
  manifest: JSON.stringify({ version: n }),
  signature: `sig-${n}`,
  signer: 'acme-provider',
  format: 'csv',
  rows: 100 * n,
  plaintextBytes: 1000 * n,
  wrappedDataKey: `key-${n}`,
  uploadedAt,
  ...over,
});

describe('dataset versions', () => {
  it('round-trips a version, every field typed', async () => {
    const v = version('demo', 'customers', 1, { format: 'parquet' });
    await state().write((tx) => recordVersion(tx, v));
    const read = await currentVersion(state(), 'demo', 'customers');
    expect(read).toEqual({ ...v, uploadedAt: expect.any(String) });
    expect(new Date(read!.uploadedAt).toISOString()).toBe(uploadedAt);
  });

  it('answers the newest version of a dataset, and of every dataset ordered by collaboration and dataset', async () => {
    expect(await currentVersion(state(), 'demo', 'customers')).toBeUndefined();
    expect(await latestVersionNumber(state(), 'demo', 'customers')).toBe(0);
    await state().write(async (tx) => {
      for (const v of [
        version('demo', 'impressions', 1),
        version('demo', 'customers', 1),
        version('demo', 'customers', 3),
        version('demo', 'customers', 2),
        version('alpha', 'customers', 1),
      ]) {
        await recordVersion(tx, v);
      }
    });
    expect((await currentVersion(state(), 'demo', 'customers'))?.version).toBe(3);
    expect(await latestVersionNumber(state(), 'demo', 'customers')).toBe(3);
    expect((await currentVersions(state())).map((v) => `${v.collaboration}/${v.dataset}@${v.version}`)).toEqual([
      'alpha/customers@1',
      'demo/customers@3',
      'demo/impressions@1',
    ]);
    expect(await envelopeFiles(state())).toEqual(
      new Set([
        'demo/impressions.1.env',
        'demo/customers.1.env',
        'demo/customers.3.env',
        'demo/customers.2.env',
        'alpha/customers.1.env',
      ]),
    );
  });

  it('refuses a second record of the same version or the same envelope, and keeps neither', async () => {
    await state().write((tx) => recordVersion(tx, version('demo', 'customers', 1)));
    await expect(
      state().write((tx) => recordVersion(tx, version('demo', 'customers', 1, { envelopeSha256: 'other' }))),
    ).rejects.toThrow(/constraint/i);
    await expect(
      state().write((tx) =>
        recordVersion(tx, version('demo', 'customers', 2, { envelopeSha256: 'sha-demo-customers-1' })),
      ),
    ).rejects.toThrow(/constraint/i);
    expect(await latestVersionNumber(state(), 'demo', 'customers')).toBe(1);
    expect((await currentVersions(state())).length).toBe(1);
  });
});
