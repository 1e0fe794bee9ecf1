import { writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openExtract } from '../../src/client/extract-file.ts';
import { fromBase64, toBase64 } from '../../src/crypto/bytes.ts';
import { sign } from '../../src/crypto/signatures.ts';
import { approvalSigningBytes } from '../../src/query/template.ts';
import type { ExtractAnswer } from '../../src/room/extracts.ts';
import { uploadFile } from '../../src/client/upload-file.ts';
import { refusal } from '../support/refusal.ts';
import { startTestRoom, uploadDemoDataset, type TestRoom } from '../support/test-room.ts';

// Attacks a hostile recipient found on the first version of extracts (and the fixes hold them).
let t: TestRoom;
const path = '/v1/collaborations/demo';
const HEADER =
  'email_hash,phone,age_band,country,loyalty_tier,signup_date,zip_code,birth_year,purchases,purchase_value,converted';
const TIERS = ['none', 'silver', 'gold', 'platinum'];
let purchases = 1000;
const person = (id: string | null, zip: string, year: number, tier: string) =>
  `${id ?? ''},,25-34,DE,${tier},2024-01-15,${zip},${year},${purchases++},1.00,0`;

/** 400 people born 1980-84 in 101xx and 202xx; two groups of 5 born 1950; one target born 1962. */
function crafted(extra: string[] = []): string {
  const rows: string[] = [];
  for (let i = 0; i < 400; i++)
    rows.push(
      person(`p${i}`, `${i % 2 ? '101' : '202'}${String(i % 100).padStart(2, '0')}`, 1980 + (i % 5), TIERS[i % 4]!),
    );
  for (let i = 0; i < 5; i++) rows.push(person(`old-a${i}`, `1017${i}`, 1950, TIERS[i % 4]!));
  for (let i = 0; i < 5; i++) rows.push(person(`old-b${i}`, `2027${i}`, 1950, TIERS[i % 4]!));
  rows.push(person('target', '10177', 1962, 'platinum'));
  return `${[HEADER, ...rows, ...extra].join('\n')}\n`;
}

async function propose(name: string, quasiIdentifiers: string[]) {
  await t.client('northwind-analyst').send('POST', `${path}/extract-templates`, {
    kind: 'extract',
    name,
    collaboration: 'demo',
    description: 'attack',
    dataset: 'advertiser_customers',
    quasiIdentifiers,
    attributes: ['loyalty_tier', 'purchases'],
    recipient: 'northwind',
  });
  const { hash } = await t.client('acme-officer').send<{ hash: string }>('GET', `${path}/extract-templates/${name}`);
  await t.client('acme-officer').send('POST', `${path}/extract-templates/${name}/approvals`, {
    hash,
    decision: 'approve',
    signature: toBase64(sign(approvalSigningBytes('demo', hash, 'approve'), t.keys['acme-officer']!.secretKey)),
  });
}

/** The purchases values (unique per person) an extract released: who is in it. */
async function peopleIn(answer: ExtractAnswer): Promise<string[]> {
  const sealed = await t.client('northwind-analyst').receiveBytes(`${path}/extracts/${answer.extract}`);
  const { plaintext } = await openExtract(
    sealed,
    t.keys['northwind-analyst']!,
    fromBase64(t.room.publicKeys().signingPublicKey, 32)!,
  );
  const [header, ...rows] = new TextDecoder().decode(plaintext).trimEnd().split('\n');
  const column = header!.split(',').indexOf('purchases');
  return rows.map((r) => r.split(',')[column]!).sort();
}

beforeAll(async () => {
  t = await startTestRoom({
    edit: (policy) => {
      const rules = policy.datasets.find((d) => d.name === 'advertiser_customers')!.rules.extract!;
      rules.republish = true;
    },
  });
  await t.acceptAll();
  const file = `${t.dir}/crafted.csv`;
  await writeFile(file, crafted());
  await uploadDemoDataset(t, 'advertiser_customers', file);
  await propose('zips', ['zip_code']);
  await propose('zips_and_years', ['zip_code', 'birth_year']);
});
afterAll(async () => t.close());

describe('extract attacks', () => {
  it('differencing: a later extract releases exactly the people an earlier one did (A − B, B − A)', async () => {
    const a = await t.client('northwind-analyst').send<ExtractAnswer>('POST', `${path}/extracts`, { template: 'zips' });
    const b = await t
      .client('northwind-analyst')
      .send<ExtractAnswer>('POST', `${path}/extracts`, { template: 'zips_and_years' });
    expect(b.report.restrictedTo).toBe(a.extract);
    // The same people, so neither difference is anyone; the target is in neither or both.
    expect(await peopleIn(b)).toEqual(await peopleIn(a));
  });

  it('refuses data with rows that belong to no person (a NULL privacy unit)', async () => {
    const file = `${t.dir}/nulls.csv`;
    const nulls = Array.from({ length: 12 }, () => person(null, '99999', 1999, 'none'));
    await writeFile(file, crafted(nulls));
    await uploadDemoDataset(t, 'advertiser_customers', file);
    const refused = await refusal(
      t.client('acme-officer').send('POST', `${path}/extracts`, { template: 'zips', dryRun: true }),
      { details: true },
    );
    expect(refused.status).toBe(422);
    expect(refused.code).toBe('EXTRACT_NOT_ONE_ROW_PER_PERSON');
  });
});

describe('an empty dataset', () => {
  it('is refused with a rule, never an internal error', async () => {
    const file = `${t.dir}/empty.csv`;
    await writeFile(file, `${HEADER}\n`);
    await uploadFile({
      client: t.client('acme-provider'),
      key: t.keys['acme-provider']!,
      collaboration: 'demo',
      dataset: 'advertiser_customers',
      file,
      allowEmpty: true,
    });
    const refused = await refusal(
      t.client('acme-officer').send('POST', `${path}/extracts`, { template: 'zips', dryRun: true }),
    );
    expect(refused).toEqual({ status: 422, code: 'EXTRACT_SUPPRESSION_EXCEEDED' });
  });
});

describe('the suppression limit', () => {
  let small: TestRoom;
  beforeAll(async () => {
    small = await startTestRoom({
      edit: (policy) => {
        policy.datasets.find((d) => d.name === 'advertiser_customers')!.rules.extract!.k = 500;
      },
    });
    await small.acceptAll();
    const file = `${small.dir}/crafted.csv`;
    await writeFile(file, crafted());
    await uploadDemoDataset(small, 'advertiser_customers', file);
  });
  afterAll(async () => small.close());

  it('refuses, naming the rule, when no generalisation meets k within it (411 people, k 500)', async () => {
    await small.client('northwind-analyst').send('POST', `${path}/extract-templates`, {
      kind: 'extract',
      name: 'too_few',
      collaboration: 'demo',
      description: 'too few people for k',
      dataset: 'advertiser_customers',
      quasiIdentifiers: ['zip_code'],
      attributes: ['loyalty_tier'],
      recipient: 'northwind',
    });
    const refused = await refusal(
      small.client('acme-officer').send('POST', `${path}/extracts`, { template: 'too_few', dryRun: true }),
      { details: true },
    );
    expect(refused).toMatchObject({ status: 422, code: 'EXTRACT_SUPPRESSION_EXCEEDED' });
    expect(refused.details).toMatchObject({ people: 411, maxSuppressed: 20 });
    const [first] = refused.details?.diagnostics as { rule: string }[];
    expect(first?.rule).toBe('datasets.advertiser_customers.rules.extract.maxSuppression');
  });
});
