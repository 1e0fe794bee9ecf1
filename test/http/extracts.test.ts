import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_EXTRACT } from '../../src/cli/demo/demo-extract.ts';
import { openExtract } from '../../src/client/extract-file.ts';
import { fromBase64, toBase64 } from '../../src/crypto/bytes.ts';
import { sign } from '../../src/crypto/signatures.ts';
import type { ExtractRelease, ExtractReport } from '../../src/release/extract-release.ts';
import type { ExtractAnswer } from '../../src/room/extracts.ts';
import { approvalSigningBytes } from '../../src/query/template.ts';
import { extractsTo, recordExtract } from '../../src/store/state/extracts.ts';
import { refusal } from '../support/refusal.ts';
import { startTestRoom, uploadDemoDataset, type TestRoom } from '../support/test-room.ts';

let t: TestRoom;
const path = '/v1/collaborations/demo';
const QUASI = ['birth_year', 'zip_code', 'signup_date', 'country'];
const ATTRIBUTES = ['loyalty_tier', 'purchases', 'converted'];

const template = (overrides: Record<string, unknown> = {}) => ({ ...DEMO_EXTRACT, ...overrides });

async function approve(name: string, officer = 'acme-officer') {
  const { hash } = await t.client(officer).send<{ hash: string }>('GET', `${path}/extract-templates/${name}`);
  return t.client(officer).send<{ runnable: boolean }>('POST', `${path}/extract-templates/${name}/approvals`, {
    hash,
    decision: 'approve',
    signature: toBase64(sign(approvalSigningBytes('demo', hash, 'approve'), t.keys[officer]!.secretKey)),
  });
}

const run = (principal: string, name: string, dryRun = false) =>
  t.client(principal).send<ExtractAnswer>('POST', `${path}/extracts`, { template: name, dryRun });

// ---- an independent oracle: the demo hierarchies in JavaScript, over raw rows read from the engine ----
type Raw = Record<string, string | number | boolean | null>;
const COUNTRY = [
  { DE: 'DACH', FR: 'west', NL: 'Benelux', ES: 'south', GB: 'isles', IE: 'isles' },
  { DE: 'continent', FR: 'continent', NL: 'continent', ES: 'continent', GB: 'isles', IE: 'isles' },
] as Record<string, string>[];
function generalise(column: string, value: string | number | boolean | null, level: number): string | null {
  const levels: Record<string, (v: string) => string[]> = {
    birth_year: (v) => {
      const band = (w: number) => `${Math.floor(Number(v) / w) * w}-${Math.floor(Number(v) / w) * w + w - 1}`;
      return [v, band(5), band(10), band(20), '*'];
    },
    zip_code: (v) => [v, `${v.slice(0, 3)}*`, `${v.slice(0, 2)}*`, `${v.slice(0, 1)}*`, '*'],
    signup_date: (v) => {
      const [y, m] = v.split('-');
      return [v, `${y}-${m}`, `${y}-Q${Math.ceil(Number(m) / 3)}`, String(y), '*'];
    },
    country: (v) => [v, COUNTRY[0]![v] ?? '*', COUNTRY[1]![v] ?? '*', '*'],
  };
  if (value === null) return level === levels[column]!('').length - 1 ? '*' : null;
  return levels[column]!(String(value))[level] ?? null;
}

async function rawCustomers(): Promise<Raw[]> {
  const result = await t.internals.engine.query(
    `SELECT ${[...QUASI, ...ATTRIBUTES].join(', ')} FROM demo.advertiser_customers`,
  );
  return result.rows.map((row) => Object.fromEntries(result.columns.map((c, i) => [c.name, row[i] ?? null])));
}

/**
 * The release the rules imply, from raw rows: people classed by `keyOf`, classes under k = 10, with
 * fewer than 2 loyalty tiers or farther than t = 0.3 from the whole dropped whole, the rest as lines.
 */
function expectedRelease(raws: readonly Raw[], keyOf: (raw: Raw) => string, lineOf: (raw: Raw) => string) {
  const classes = new Map<string, { lines: string[]; raws: Raw[]; tiers: Map<string, number> }>();
  const whole = new Map<string, number>();
  for (const raw of raws) {
    const key = keyOf(raw);
    const found = classes.get(key) ?? { lines: [] as string[], raws: [] as Raw[], tiers: new Map<string, number>() };
    found.lines.push(lineOf(raw));
    found.raws.push(raw);
    const tier = String(raw.loyalty_tier);
    found.tiers.set(tier, (found.tiers.get(tier) ?? 0) + 1);
    whole.set(tier, (whole.get(tier) ?? 0) + 1);
    classes.set(key, found);
  }
  const emd = (tiers: Map<string, number>, n: number) =>
    [...whole].reduce((d, [tier, c]) => d + Math.abs((tiers.get(tier) ?? 0) / n - c / raws.length), 0) / 2;
  const lines: string[] = [];
  const released: Raw[] = [];
  let suppressed = 0;
  for (const c of classes.values()) {
    if (c.lines.length >= 10 && c.tiers.size >= 2 && emd(c.tiers, c.lines.length) <= 0.3) {
      lines.push(...c.lines);
      released.push(...c.raws);
    } else suppressed += c.lines.length;
  }
  return { lines, released, suppressed };
}

const keyAt = (raw: Raw, levels: Readonly<Record<string, number>>) =>
  Object.keys(levels)
    .map((q) => generalise(q, raw[q] ?? null, levels[q]!) ?? '')
    .join(',');
const attributesOf = (raw: Raw) => ATTRIBUTES.map((a) => (raw[a] === null ? '' : String(raw[a])));
const levelsOf = (report: ExtractReport) =>
  Object.fromEntries(Object.entries(report.levels).map(([q, l]) => [q, l.level]));

/** Parses the extract CSV (no quoted fields in this data) into rows of text cells, null for empty. */
function parseCsv(text: string): { header: string[]; rows: (string | null)[][] } {
  const [head, ...lines] = text.trimEnd().split('\n');
  return {
    header: head!.split(','),
    rows: lines.map((line) => line.split(',').map((cell) => (cell === '' ? null : cell))),
  };
}

beforeAll(async () => {
  t = await startTestRoom();
  await t.acceptAll();
  await uploadDemoDataset(t, 'advertiser_customers');
});
afterAll(async () => t.close());

describe('extract templates', () => {
  it('are proposed by the recipient and await the dataset owner’s officer', async () => {
    const status = await t
      .client('northwind-analyst')
      .send<{ runnable: boolean; requiredMembers: string[]; hash: string }>(
        'POST',
        `${path}/extract-templates`,
        template(),
      );
    expect(status.runnable).toBe(false);
    expect(status.requiredMembers).toEqual(['acme']);
    // Nothing runs on the data for the recipient before approval, not even a dry run.
    for (const dryRun of [false, true])
      expect(await refusal(run('northwind-analyst', 'customers_for_modeling', dryRun))).toEqual({
        status: 403,
        code: 'TEMPLATE_NOT_APPROVED',
      });
    // Only the owner's officer is asked; the recipient's own officer cannot approve it.
    expect(await refusal(approve('customers_for_modeling', 'northwind-officer'))).toEqual({
      status: 403,
      code: 'NOT_A_DATA_OWNER',
    });
  });

  it('refuse identifiers, blocked and unlisted columns, and recipients the rules omit, naming the rule', async () => {
    const propose = (overrides: Record<string, unknown>, who = 'northwind-analyst') =>
      refusal(t.client(who).send('POST', `${path}/extract-templates`, template({ name: 'bad', ...overrides })), {
        details: true,
      });
    for (const [column, field] of [
      ['email_hash', 'attributes'],
      ['phone', 'attributes'],
      ['purchase_value', 'attributes'],
      ['zip_code', 'attributes'],
      ['email_hash', 'quasiIdentifiers'],
      ['age_band', 'quasiIdentifiers'],
    ] as const) {
      const refused = await propose({ [field]: [column] });
      expect(refused.status, `${field}: ${column}`).toBe(422);
      expect(refused.code).toBe('EXTRACT_NOT_ALLOWED');
      const [first] = refused.details?.diagnostics as { rule: string; data: { column: string } }[];
      expect(first?.rule).toBe(`datasets.advertiser_customers.rules.extract.${field}`);
      expect(first?.data.column).toBe(column);
    }
    expect((await propose({ recipient: 'acme' })).code).toBe('EXTRACT_NOT_A_RECIPIENT');
    expect((await propose({ dataset: 'publisher_impressions' })).code).toBe('EXTRACT_NOT_ALLOWED');
    expect((await propose({ extra: true })).code).toBe('EXTRACT_TEMPLATE_INVALID');
    expect((await propose({}, 'acme-provider')).code).toBe('ROLE_REQUIRED');
  });

  it('show the owner’s officer a dry run: levels, achieved k, l, t, suppression and loss, and no rows', async () => {
    const answer = await run('acme-officer', 'customers_for_modeling', true);
    expect(answer.dryRun).toBe(true);
    expect(answer).not.toHaveProperty('extract');
    const report = answer.report;
    expect(Object.keys(report.levels)).toEqual(QUASI);
    expect(report.k.achieved).toBeGreaterThanOrEqual(10);
    expect(report.l?.achieved).toBeGreaterThanOrEqual(2);
    expect(report.t?.achieved).toBeLessThanOrEqual(0.3);
    expect(report.suppressedShare).toBeLessThanOrEqual(0.05);
    expect(report.people).toBe(5000);
    expect(report.search.checked).toBeLessThan(report.search.nodes);
    // Another member's officer gets no dry run of acme's data.
    expect((await refusal(run('northwind-officer', 'customers_for_modeling', true))).code).toBe('ROLE_REQUIRED');
  });
});

describe('an approved extract', () => {
  let answer: ExtractAnswer;
  let sealed: Uint8Array;
  const roomSigningKey = () => fromBase64(t.room.publicKeys().signingPublicKey, 32)!;

  beforeAll(async () => {
    expect((await approve('customers_for_modeling')).runnable).toBe(true);
    const progress: unknown[] = [];
    answer = await t
      .client('northwind-analyst')
      .sendWithProgress<ExtractAnswer, unknown>(
        'POST',
        `${path}/extracts`,
        { template: 'customers_for_modeling' },
        (p) => progress.push(p),
      );
    expect(progress.length).toBeGreaterThan(0);
    sealed = await t.client('northwind-analyst').receiveBytes(`${path}/extracts/${answer.extract}`);
  });

  it('is refused to a modeler of another member', async () => {
    expect(await refusal(run('acme-analyst', 'customers_for_modeling'))).toEqual({
      status: 403,
      code: 'NOT_THE_RECIPIENT',
    });
  });

  it('opens only with the recipient principal’s key, and only the requester can fetch it', async () => {
    await expect(openExtract(sealed, t.keys['acme-analyst']!, roomSigningKey())).rejects.toMatchObject({
      code: 'ENVELOPE_TAMPERED',
    });
    await expect(openExtract(sealed, t.keys['northwind-officer']!, roomSigningKey())).rejects.toThrow();
    expect((await refusal(t.client('acme-analyst').receiveBytes(`${path}/extracts/${answer.extract}`))).code).toBe(
      'EXTRACT_NOT_FOUND',
    );
    // A flipped byte anywhere fails authentication.
    const tampered = Uint8Array.from(sealed);
    const middle = tampered.length >> 1;
    tampered[middle] = (tampered[middle] ?? 0) ^ 1;
    await expect(openExtract(tampered, t.keys['northwind-analyst']!, roomSigningKey())).rejects.toThrow();
  });

  it('releases exactly the raw rows generalised to the reported levels, minus whole failing classes', async () => {
    const { manifest, plaintext } = await openExtract(sealed, t.keys['northwind-analyst']!, roomSigningKey());
    expect(manifest.extract).toBe(answer.extract);
    expect(manifest.recipient).toBe('northwind');
    const { header, rows } = parseCsv(new TextDecoder().decode(plaintext));
    // Quasi-identifiers then attributes: never the privacy unit, a blocked or an unlisted column.
    expect(header).toEqual([...QUASI, ...ATTRIBUTES]);
    const levels = levelsOf(answer.report);
    // The oracle: every raw row generalised in JavaScript, classes recounted, failing classes dropped.
    const { lines: expected, suppressed } = expectedRelease(
      await rawCustomers(),
      (raw) => keyAt(raw, levels),
      (raw) => [keyAt(raw, levels), ...attributesOf(raw)].join(','),
    );
    const released = rows.map((r) => r.map((cell) => cell ?? '').join(','));
    expect(released.slice().sort()).toEqual(expected.slice().sort());
    expect(suppressed).toBe(answer.report.suppressed);
    expect(suppressed / 5000).toBeLessThanOrEqual(0.05);
    // Shuffled: the released order is not the stored (or sorted) order.
    expect(released).not.toEqual(expected);
    expect(released).not.toEqual(released.slice().sort());
  });

  it('is recorded in the audit chain with its report and the sealed file’s hash', async () => {
    const { entries } = await t
      .client('acme-officer')
      .send<{ entries: { action: string; details: Record<string, unknown> }[] }>('GET', `${path}/audit`);
    const released = entries.filter((e) => e.action === 'extract.released');
    expect(released).toHaveLength(1);
    expect(released[0]!.details).toMatchObject({
      extract: answer.extract,
      recipient: 'northwind',
      report: JSON.parse(JSON.stringify(answer.report)),
    });
    expect(entries.map((e) => e.action)).toContain('extract_template.approved');
    // The officer's dry run is on record too, with its report.
    expect(entries.find((e) => e.action === 'extract.dry_run')?.details).toMatchObject({
      template: 'customers_for_modeling',
      dataset: 'advertiser_customers',
    });
  });
});

describe('repeated extracts (composition)', () => {
  /** The people the first extract released (everything later releases exactly them), and its levels. */
  async function firstRelease() {
    const [first] = await extractsTo(t.internals.state, 'demo', 'advertiser_customers', 'northwind');
    const release = JSON.parse(first!.levels) as ExtractRelease;
    const levels = Object.fromEntries(Object.entries(release.levels).map(([q, l]) => [q, l.level]));
    const { released } = expectedRelease(
      await rawCustomers(),
      (raw) => keyAt(raw, levels),
      () => '',
    );
    return { id: first!.id, release, levels, released };
  }
  const openRun = async (answer: ExtractAnswer) => {
    const sealed = await t.client('northwind-analyst').receiveBytes(`${path}/extracts/${answer.extract}`);
    const roomKey = fromBase64(t.room.publicKeys().signingPublicKey, 32)!;
    const { plaintext } = await openExtract(sealed, t.keys['northwind-analyst']!, roomKey);
    return parseCsv(new TextDecoder().decode(plaintext)).rows.map((r) => r.map((c) => c ?? '').join(','));
  };

  it('is never finer than an earlier extract of the same quasi-identifiers, with the same people', async () => {
    const first = await firstRelease();
    // An earlier, coarser extract on record: the next may only be as coarse or coarser.
    const coarse: ExtractRelease = {
      ...first.release,
      levels: { ...first.release.levels, zip_code: { ...first.release.levels.zip_code!, level: 3 } },
    };
    await t.internals.state.write((tx) =>
      recordExtract(tx, {
        collaboration: 'demo',
        id: 'x-earlier-coarse',
        template: 'customers_for_modeling',
        templateHash: '0'.repeat(64),
        dataset: 'advertiser_customers',
        dataVersion: 1,
        recipient: 'northwind',
        requestedBy: 'northwind-analyst',
        levels: JSON.stringify(coarse),
        report: '{}',
        file: 'none',
        fileSha256: '0'.repeat(64),
        createdAt: new Date().toISOString(),
      }),
    );
    const next = await run('northwind-analyst', 'customers_for_modeling');
    for (const q of QUASI) expect(next.report.levels[q]!.level).toBeGreaterThanOrEqual(coarse.levels[q]!.level);
    expect(next.report.composedWith).toContain('x-earlier-coarse');
    expect(next.report.restrictedTo).toBe(first.id);
    expect(next.report.suppressed).toBe(0);
    // Exactly the first extract's people, at the new levels.
    const levels = levelsOf(next.report);
    const expected = first.released.map((raw) => [keyAt(raw, levels), ...attributesOf(raw)].join(','));
    expect((await openRun(next)).sort()).toEqual(expected.sort());
  });

  it('releases the first extract’s people under other quasi-identifiers, every union class passing', async () => {
    await t.client('northwind-analyst').send('POST', `${path}/extract-templates`, {
      ...template({ name: 'birth_years_only', quasiIdentifiers: ['birth_year'] }),
    });
    await approve('birth_years_only');
    const answer = await run('northwind-analyst', 'birth_years_only');
    const first = await firstRelease();
    expect(answer.report.restrictedTo).toBe(first.id);
    expect(answer.report.suppressed).toBe(0);
    const earlier = (await extractsTo(t.internals.state, 'demo', 'advertiser_customers', 'northwind'))
      .filter((e) => e.id !== answer.extract)
      .map((e) => (JSON.parse(e.levels) as ExtractRelease).levels)
      .map((l) => Object.fromEntries(Object.entries(l).map(([q, x]) => [q, x.level])));
    expect(earlier.length).toBe(answer.report.composedWith.length);
    const levels = levelsOf(answer.report);
    // Recount the union over the first extract's people: every class split by every earlier extract passes.
    const union = expectedRelease(
      first.released,
      (raw) => [keyAt(raw, levels), ...earlier.map((l) => keyAt(raw, l))].join('|'),
      (raw) => [keyAt(raw, levels), ...attributesOf(raw)].join(','),
    );
    expect(union.suppressed).toBe(0);
    expect((await openRun(answer)).sort()).toEqual(union.lines.sort());
  });

  it('takes runs to one recipient one at a time, so each composes with the one before', async () => {
    const [a, b] = await Promise.all([
      run('northwind-analyst', 'birth_years_only'),
      run('northwind-analyst', 'customers_for_modeling'),
    ]);
    const [earlier, later] = a.auditSeq! < b.auditSeq! ? [a, b] : [b, a];
    expect(later.report.composedWith).toContain(earlier.extract);
  });

  it('refuses an extract after the data changed, unless the rules allow re-publication', async () => {
    const file = `${t.dir}/customers-v2.csv`;
    const lines = readFileSync('fixtures/advertiser_customers.csv', 'utf8').trimEnd().split('\n');
    // Five customers fewer: a new version of the data.
    writeFileSync(file, `${lines.slice(0, -5).join('\n')}\n`);
    await uploadDemoDataset(t, 'advertiser_customers', file);
    const refused = await refusal(run('northwind-analyst', 'customers_for_modeling'), { details: true });
    expect(refused.status).toBe(409);
    expect(refused.code).toBe('EXTRACT_DATA_CHANGED');
    expect(refused.details).toMatchObject({ extractedVersion: 1, currentVersion: 2 });
  });
});
