import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RoomRequestError } from '../../src/client/room-client.ts';
import type { PrivacyBlock } from '../../src/room/run-query.ts';
import type { Cell } from '../../src/store/result-values.ts';
import { startTestRoom, uploadDemoDataset, type TestRoom } from '../support/test-room.ts';
import { corpus, type CorpusEntry, type Expectation } from './adversarial-corpus.ts';

/**
 * Runs the adversarial corpus through the real HTTP API as acme-analyst against a room holding
 * the committed fixtures, and checks every answer independently of the checker: refusals carry
 * the expected diagnostics and no row data; released groups are recomputed on the raw tables.
 */

let t: TestRoom;
/** Every value of the identifier, blocked and quasi columns in the fixtures. */
const sensitive = {
  identifiers: new Set<string>(),
  phones: new Set<string>(),
  ips: new Set<string>(),
  zips: new Set<string>(),
};

interface Released {
  readonly columns: readonly { name: string; type: string }[];
  readonly rows: readonly (readonly Cell[])[];
  readonly privacy: PrivacyBlock;
}

type Outcome =
  | { readonly kind: 'released'; readonly body: Released }
  | {
      readonly kind: 'error';
      readonly status: number;
      readonly code: string;
      readonly message: string;
      readonly details: Record<string, unknown>;
    };

async function send(body: Record<string, unknown>): Promise<Outcome> {
  try {
    return {
      kind: 'released',
      body: await t.client('acme-analyst').send<Released>('POST', '/v1/collaborations/demo/queries', body),
    };
  } catch (error) {
    if (error instanceof RoomRequestError)
      return { kind: 'error', status: error.status, code: error.code, message: error.message, details: error.details };
    throw error;
  }
}

const run = (entry: CorpusEntry): Promise<Outcome> =>
  send({ sql: entry.sql, ...(entry.params ? { params: entry.params } : {}), ...(entry.dp ? { dp: entry.dp } : {}) });

const describeOutcome = (outcome: Outcome): string =>
  outcome.kind === 'released'
    ? `released ${outcome.body.rows.length} row(s) ${JSON.stringify(outcome.body.rows.slice(0, 5))} (suppressed ` +
      `${outcome.body.privacy.groupsSuppressed})`
    : `${outcome.status} ${outcome.code}: ${outcome.message} ${JSON.stringify(outcome.details).slice(0, 600)}`;

/** Row-level look-alikes in an error body that the analyst did not write themselves. */
function rowDataIn(text: string, sql: string): string[] {
  const found = [
    ...(text.match(/\b[0-9a-f]{64}\b/g) ?? []),
    ...(text.match(/\+\d{9,}/g) ?? []),
    ...(text.match(/\b\d{1,3}(?:\.\d{1,3}){3}\b/g) ?? []),
  ];
  for (const value of [...sensitive.phones, ...sensitive.ips]) if (text.includes(value)) found.push(value);
  return found.filter((value) => !sql.includes(value));
}

/** Released cells that are raw identifier, blocked or quasi values. */
function sensitiveCells(rows: readonly (readonly Cell[])[]): Cell[] {
  return rows
    .flat()
    .filter(
      (cell) =>
        typeof cell === 'string' &&
        (sensitive.identifiers.has(cell) ||
          sensitive.phones.has(cell) ||
          sensitive.ips.has(cell) ||
          sensitive.zips.has(cell) ||
          /^[0-9a-f]{64}$/.test(cell) ||
          /^\+\d{9,}$/.test(cell) ||
          /^\d{1,3}(?:\.\d{1,3}){3}$/.test(cell)),
    );
}

const keyOf = (cells: readonly Cell[]): string => JSON.stringify(cells.map((c) => (c === null ? null : String(c))));

async function rawValues(sql: string): Promise<Cell[]> {
  return (await t.internals.engine.query(sql)).rows.flat();
}

const sameValue = (a: Cell, b: Cell): boolean =>
  typeof a === 'number' && typeof b === 'number'
    ? Math.abs(a - b) <= 1e-6 * Math.max(1, Math.abs(b))
    : a !== null && b !== null && String(a) === String(b);

async function checkRefused(
  entry: CorpusEntry,
  expectation: { refused: readonly string[] },
  outcome: Outcome,
): Promise<void> {
  expect(
    outcome.kind === 'error' && outcome.status === 422 && outcome.code === 'QUERY_REFUSED',
    `expected 422 QUERY_REFUSED, got ${describeOutcome(outcome)}`,
  ).toBe(true);
  if (outcome.kind !== 'error') return;
  const diagnostics = (outcome.details.diagnostics ?? []) as { code: string }[];
  expect(diagnostics.length).toBeGreaterThan(0);
  const codes = diagnostics.map((d) => d.code);
  for (const code of expectation.refused) expect(codes, `diagnostics of ${JSON.stringify(entry.sql)}`).toContain(code);
  expect(rowDataIn(JSON.stringify({ message: outcome.message, details: outcome.details }), entry.sql)).toEqual([]);
}

async function checkThresholded(
  entry: CorpusEntry,
  expectation: Extract<Expectation, { thresholded: true }>,
  outcome: Outcome,
): Promise<void> {
  if (expectation.orRefused && outcome.kind === 'error' && outcome.status === 422 && outcome.code === 'QUERY_REFUSED') {
    expect(rowDataIn(JSON.stringify({ message: outcome.message, details: outcome.details }), entry.sql)).toEqual([]);
    return;
  }
  expect(outcome.kind, `expected the query to run, got ${describeOutcome(outcome)}`).toBe('released');
  if (outcome.kind !== 'released') return;
  const { rows, privacy } = outcome.body;
  expect(privacy.minGroupSize).toBe(50);
  expect(sensitiveCells(rows), `identifier/blocked/quasi values released: ${describeOutcome(outcome)}`).toEqual([]);
  if (expectation.sizes) {
    const { sql, keys } = expectation.sizes;
    const sizes = new Map(
      (await t.internals.engine.query(sql)).rows.map((r) => [keyOf(r.slice(0, keys)), Number(r[keys])]),
    );
    for (const row of rows) {
      const people = sizes.get(keyOf(row.slice(0, keys)));
      expect(
        people,
        `released group ${keyOf(row.slice(0, keys))} not found in the raw data (${describeOutcome(outcome)})`,
      ).toBeDefined();
      expect(
        people,
        `released group ${keyOf(row.slice(0, keys))} stands for ${people} people: ${describeOutcome(outcome)}`,
      ).toBeGreaterThanOrEqual(50);
    }
  }
  if (expectation.absent) {
    const target = keyOf(expectation.absent);
    expect(
      rows.filter((r) => keyOf(r.slice(0, expectation.absent?.length)) === target),
      `targeted group released: ${describeOutcome(outcome)}`,
    ).toEqual([]);
  }
  if (expectation.suppressed) expect(privacy.groupsSuppressed, describeOutcome(outcome)).toBeGreaterThan(0);
  if (expectation.reveals) {
    const secret = (await rawValues(expectation.reveals)).filter((v) => v !== null);
    expect(secret.length, 'the reveals query must find the targeted value').toBeGreaterThan(0);
    const leaked = rows.flat().filter((cell) => secret.some((s) => sameValue(cell, s)));
    expect(leaked, `one person's value ${JSON.stringify(secret)} released: ${describeOutcome(outcome)}`).toEqual([]);
  }
}

beforeAll(async () => {
  t = await startTestRoom({ config: { templatesDirectory: join(process.cwd(), 'sql') } });
  await t.acceptAll();
  expect(await uploadDemoDataset(t, 'advertiser_customers')).toMatchObject({ rows: 5000 });
  expect(await uploadDemoDataset(t, 'publisher_impressions')).toMatchObject({ rows: 20000 });
  for (const [sql, set] of [
    [
      'SELECT email_hash FROM demo.advertiser_customers UNION SELECT email_hash FROM demo.publisher_impressions',
      sensitive.identifiers,
    ],
    ['SELECT phone FROM demo.advertiser_customers', sensitive.phones],
    ['SELECT ip_address FROM demo.publisher_impressions', sensitive.ips],
    ['SELECT CAST(zip_code AS VARCHAR) FROM demo.advertiser_customers', sensitive.zips],
  ] as const) {
    for (const value of await rawValues(sql)) if (value !== null) set.add(String(value));
  }
}, 120_000);
afterAll(async () => t?.close());

describe('adversarial corpus', () => {
  it('has at least 70 entries with unique names', () => {
    expect(corpus.length).toBeGreaterThanOrEqual(70);
    expect(new Set(corpus.map((e) => e.name)).size).toBe(corpus.length);
    expect(corpus.filter((e) => e.category === 'legitimate').length).toBeGreaterThanOrEqual(10);
  });

  for (const entry of corpus) {
    it(`[${entry.category}] ${entry.name}`, async () => {
      const outcome = await run(entry);
      const expectation = entry.expect;
      if ('refused' in expectation) await checkRefused(entry, expectation, outcome);
      else if ('rejected' in expectation) {
        expect(outcome.kind === 'error' ? [outcome.status, outcome.code] : describeOutcome(outcome)).toEqual([
          expectation.rejected.status,
          expectation.rejected.code,
        ]);
      } else await checkThresholded(entry, expectation, outcome);
    });
  }
});

describe('template parameters', () => {
  const refusal = async (body: Record<string, unknown>) => {
    const outcome = await send(body);
    return outcome.kind === 'error'
      ? { status: outcome.status, code: outcome.code }
      : { status: 200, code: 'ACCEPTED' };
  };

  it('refuses SQL injected into an enum parameter', async () => {
    expect(await refusal({ template: 'conversion_lift', params: { campaign: "x' OR 1=1 --" }, dryRun: true })).toEqual({
      status: 400,
      code: 'TEMPLATE_PARAMETERS_INVALID',
    });
    expect(
      await refusal({
        template: 'conversion_lift',
        params: { campaign: "spring_sale' UNION SELECT email_hash FROM advertiser_customers --" },
      }),
    ).toEqual({ status: 400, code: 'TEMPLATE_PARAMETERS_INVALID' });
  });

  it('refuses extra, missing and wrongly typed parameters', async () => {
    expect(
      await refusal({ template: 'conversion_lift', params: { campaign: 'spring_sale', extra: '1' }, dryRun: true }),
    ).toEqual({ status: 400, code: 'TEMPLATE_PARAMETERS_INVALID' });
    expect(await refusal({ template: 'conversion_lift', params: {}, dryRun: true })).toEqual({
      status: 400,
      code: 'TEMPLATE_PARAMETERS_INVALID',
    });
    expect(await refusal({ template: 'conversion_lift', params: { campaign: 1 }, dryRun: true })).toEqual({
      status: 400,
      code: 'TEMPLATE_PARAMETERS_INVALID',
    });
    expect(await refusal({ template: 'conversion_lift', params: { campaign: ['spring_sale'] }, dryRun: true })).toEqual(
      { status: 400, code: 'TEMPLATE_PARAMETERS_INVALID' },
    );
    expect(
      await refusal({
        template: 'reach_and_frequency',
        params: { from: "2025-01-01'; DROP TABLE x; --", to: '2025-12-31' },
        dryRun: true,
      }),
    ).toEqual({ status: 400, code: 'TEMPLATE_PARAMETERS_INVALID' });
    expect(
      await refusal({
        template: 'reach_and_frequency',
        params: { from: '1999-01-01', to: '2025-12-31' },
        dryRun: true,
      }),
    ).toEqual({ status: 400, code: 'TEMPLATE_PARAMETERS_INVALID' });
  });

  it('refuses a request that mixes a template with ad hoc SQL', async () => {
    expect(
      await refusal({
        template: 'conversion_lift',
        sql: `SELECT email_hash FROM advertiser_customers`,
        params: { campaign: 'spring_sale' },
      }),
    ).toEqual({ status: 400, code: 'QUERY_REQUEST_INVALID' });
  });

  it('binds a valid parameter instead of splicing it, and needs approval to run', async () => {
    const dry = await send({ template: 'conversion_lift', params: { campaign: 'spring_sale' }, dryRun: true });
    expect(dry.kind, dry.kind === 'error' ? describeOutcome(dry) : '').toBe('released');
    const rewritten = dry.kind === 'released' ? (dry.body as unknown as { rewrittenSql: string }).rewrittenSql : '';
    expect(rewritten).toContain('$campaign');
    expect(rewritten).not.toContain('spring_sale');
    expect(await refusal({ template: 'conversion_lift', params: { campaign: 'spring_sale' } })).toEqual({
      status: 409,
      code: 'TEMPLATE_NOT_APPROVED',
    });
  });
});
