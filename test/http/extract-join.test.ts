import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openExtract } from '../../src/client/extract-file.ts';
import { uploadFile } from '../../src/client/upload-file.ts';
import { fromBase64, toBase64 } from '../../src/crypto/bytes.ts';
import { sign } from '../../src/crypto/signatures.ts';
import { approvalSigningBytes } from '../../src/query/template.ts';
import type { ExtractAnswer } from '../../src/room/extracts.ts';
import { refusal } from '../support/refusal.ts';
import { startTestRoom, uploadDemoDataset, type PolicyDraft, type TestRoom } from '../support/test-room.ts';

// An extract of Acme's customers joined one-to-one with Northwind's profiles on the allowed e-mail pair.
let t: TestRoom;
const path = '/v1/collaborations/demo';
const SEGMENTS = ['sports', 'travel', 'family'];

function addProfiles(policy: PolicyDraft): void {
  policy.datasets.push({
    name: 'publisher_profiles',
    owner: 'northwind',
    region: 'eu-west',
    retentionDays: 90,
    format: 'csv',
    columns: [
      { name: 'email_hash', type: 'VARCHAR', class: 'identifier' },
      { name: 'segment', type: 'VARCHAR', class: 'dimension' },
      { name: 'affinity', type: 'DOUBLE', class: 'metric' },
    ],
    rules: {
      privacyUnit: 'email_hash',
      minGroupSize: 50,
      aggregates: ['count'],
      joins: [{ column: 'email_hash', dataset: 'advertiser_customers', partnerColumn: 'email_hash' }],
      resultReceivers: ['northwind'],
      extract: {
        k: 20,
        maxSuppression: 0.05,
        attributes: ['segment'],
        quasiIdentifiers: {},
        recipients: ['northwind'],
      },
    },
  } as unknown as PolicyDraft['datasets'][number]);
  const customers = policy.datasets.find((d) => d.name === 'advertiser_customers')!;
  customers.rules.joins!.push({ column: 'email_hash', dataset: 'publisher_profiles', partnerColumn: 'email_hash' });
}

const emails = readFileSync('fixtures/advertiser_customers.csv', 'utf8')
  .trimEnd()
  .split('\n')
  .slice(1)
  .map((line) => line.split(',')[0]!);
/** Profiles for 3,000 of the 5,000 customers (and 200 people Acme does not know). */
const profiles = new Map<string, string>([
  ...emails.slice(0, 3000).map((e, i) => [e, SEGMENTS[i % 3]!] as const),
  ...Array.from({ length: 200 }, (_, i) => [`stranger-${i}`, 'sports'] as const),
]);

async function uploadProfiles(rows: [string, string][]): Promise<void> {
  const file = `${t.dir}/profiles-${Date.now()}.csv`;
  writeFileSync(file, `email_hash,segment,affinity\n${rows.map(([e, s]) => `${e},${s},0.5`).join('\n')}\n`);
  await uploadFile({
    client: t.client('northwind-provider'),
    key: t.keys['northwind-provider']!,
    collaboration: 'demo',
    dataset: 'publisher_profiles',
    file,
  });
}

const template = (overrides: Record<string, unknown> = {}) => ({
  kind: 'extract',
  name: 'customers_with_segments',
  collaboration: 'demo',
  description: 'Customers with the publisher segment, generalised',
  dataset: 'advertiser_customers',
  quasiIdentifiers: ['birth_year', 'zip_code', 'signup_date', 'country'],
  attributes: ['loyalty_tier', 'converted'],
  recipient: 'northwind',
  join: { dataset: 'publisher_profiles', attributes: ['segment'] },
  ...overrides,
});

async function approveBy(name: string, officer: string) {
  const { hash } = await t.client(officer).send<{ hash: string }>('GET', `${path}/extract-templates/${name}`);
  return t.client(officer).send<{ runnable: boolean }>('POST', `${path}/extract-templates/${name}/approvals`, {
    hash,
    decision: 'approve',
    signature: toBase64(sign(approvalSigningBytes('demo', hash, 'approve'), t.keys[officer]!.secretKey)),
  });
}

beforeAll(async () => {
  t = await startTestRoom({ edit: addProfiles });
  await t.acceptAll();
  await uploadDemoDataset(t, 'advertiser_customers');
  // First a version with one person twice: the join would not be one-to-one.
  await uploadProfiles([...profiles, [emails[0]!, 'travel']]);
});
afterAll(async () => t.close());

describe('a joined extract', () => {
  it('needs both owners’ officers, and only attributes the joined dataset’s rules release', async () => {
    const refused = await refusal(
      t
        .client('northwind-analyst')
        .send(
          'POST',
          `${path}/extract-templates`,
          template({ name: 'bad', join: { dataset: 'publisher_profiles', attributes: ['affinity'] } }),
        ),
      { details: true },
    );
    expect(refused.code).toBe('EXTRACT_NOT_ALLOWED');
    const [first] = refused.details?.diagnostics as { rule: string }[];
    expect(first?.rule).toBe('datasets.publisher_profiles.rules.extract.attributes');
    const status = await t
      .client('northwind-analyst')
      .send<{ requiredMembers: string[]; runnable: boolean }>('POST', `${path}/extract-templates`, template());
    expect(status.requiredMembers).toEqual(['acme', 'northwind']);
    expect((await approveBy('customers_with_segments', 'acme-officer')).runnable).toBe(false);
    expect((await approveBy('customers_with_segments', 'northwind-officer')).runnable).toBe(true);
  });

  it('is refused while the joined side holds a person twice', async () => {
    const refused = await refusal(
      t.client('northwind-analyst').send('POST', `${path}/extracts`, { template: 'customers_with_segments' }),
      { details: true },
    );
    expect(refused).toMatchObject({ status: 422, code: 'EXTRACT_NOT_ONE_ROW_PER_PERSON' });
    expect(refused.details).toMatchObject({ dataset: 'publisher_profiles' });
  });

  it('releases the overlap only, with the larger k of the two owners, recounted from raw rows', async () => {
    await uploadProfiles([...profiles]);
    const answer = await t
      .client('northwind-analyst')
      .send<ExtractAnswer>('POST', `${path}/extracts`, { template: 'customers_with_segments' });
    expect(answer.report.k.required).toBe(20);
    expect(answer.report.k.achieved).toBeGreaterThanOrEqual(20);
    expect(answer.report.people).toBe(3000);
    const sealed = await t.client('northwind-analyst').receiveBytes(`${path}/extracts/${answer.extract}`);
    const { plaintext } = await openExtract(
      sealed,
      t.keys['northwind-analyst']!,
      fromBase64(t.room.publicKeys().signingPublicKey, 32)!,
    );
    const [header, ...rows] = new TextDecoder().decode(plaintext).trimEnd().split('\n');
    expect(header).toBe('birth_year,zip_code,signup_date,country,loyalty_tier,converted,segment');
    expect(rows.length).toBe(answer.report.rows);
    // Every released class (quasi-identifiers) holds at least 20 rows, each a customer with a profile.
    const classes = new Map<string, number>();
    for (const row of rows) {
      const key = row.split(',').slice(0, 4).join(',');
      classes.set(key, (classes.get(key) ?? 0) + 1);
    }
    expect(Math.min(...classes.values())).toBeGreaterThanOrEqual(20);
    expect(answer.report.suppressed + rows.length).toBe(3000);
    // Segments are the profiles' own: released per row as stored, from the 3,000 shared people only.
    const released = new Map<string, number>();
    for (const row of rows) released.set(row.split(',')[6]!, (released.get(row.split(',')[6]!) ?? 0) + 1);
    for (const segment of SEGMENTS) expect(released.get(segment)).toBeLessThanOrEqual(1000);
  });

  it('refuses an extract of the same dataset to the same recipient without the join (another population)', async () => {
    await t.client('northwind-analyst').send('POST', `${path}/extract-templates`, {
      ...template({ name: 'no_join' }),
      join: undefined,
    });
    await approveBy('no_join', 'acme-officer');
    const refused = await refusal(
      t.client('northwind-analyst').send('POST', `${path}/extracts`, { template: 'no_join' }),
    );
    expect(refused).toEqual({ status: 409, code: 'EXTRACT_COMPOSITION' });
  });
});
