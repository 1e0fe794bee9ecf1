import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEntry } from '../../src/audit/audit-entry.ts';
import { selectAuditEntries } from '../../src/audit/audit-query.ts';
import { refusal } from '../support/refusal.ts';
import { startTestRoom, uploadDemoDataset, type TestRoom } from '../support/test-room.ts';

// The audit trail as officers read it in pages: filtered by the room, newest first. Every page the
// route answers is recomputed here from the whole chain with a plain filter.
let t: TestRoom;
let chain: AuditEntry[];
const path = '/v1/collaborations/demo';

beforeAll(async () => {
  t = await startTestRoom();
  await t.acceptAll();
  for (const dataset of ['advertiser_customers', 'publisher_impressions']) await uploadDemoDataset(t, dataset);
  await t.client('acme-analyst').send('POST', `${path}/queries`, {
    sql: 'SELECT country, count(DISTINCT email_hash) AS people FROM advertiser_customers GROUP BY country',
  });
  chain = (await t.client('acme-analyst').send<{ entries: AuditEntry[] }>('GET', `${path}/audit`)).entries;
  expect(chain.length).toBeGreaterThanOrEqual(5);
}, 60_000);
afterAll(async () => t.close());

const named = (e: AuditEntry) => {
  const d = e.details as { dataset?: string; datasets?: string[] };
  return [...(d.dataset ? [d.dataset] : []), ...(d.datasets ?? [])];
};

describe('GET …/audit with a query', () => {
  it('answers exactly the entries a plain filter of the whole chain selects, newest first, paged', async () => {
    const actors = [...new Set(chain.map((e) => e.actor)), 'nobody'];
    const actions = [...new Set(chain.map((e) => e.action)), 'no.such'];
    const datasets = ['advertiser_customers', 'publisher_impressions', 'none'];
    const days = [chain[0]!.at.slice(0, 10), '2000-01-01', '2999-12-31'];
    const client = t.client('northwind-officer');
    await fc.assert(
      fc.asyncProperty(
        fc.record(
          {
            actor: fc.constantFrom(...actors),
            action: fc.constantFrom(...actions),
            dataset: fc.constantFrom(...datasets),
            since: fc.constantFrom(...days, chain[1]!.at),
            until: fc.constantFrom(...days, chain[chain.length - 2]!.at),
            offset: fc.integer({ min: 0, max: chain.length + 2 }),
            limit: fc.integer({ min: 1, max: 7 }),
          },
          { requiredKeys: ['limit'] },
        ),
        async (query) => {
          const search = new URLSearchParams(Object.entries(query).map(([k, v]): [string, string] => [k, String(v)]));
          const page = await client.send<{ entries: AuditEntry[]; total: number }>('GET', `${path}/audit?${search}`);
          const at = (text: string, end: boolean) =>
            text.length === 10 ? Date.parse(`${text}T00:00:00Z`) + (end ? 86_400_000 : 0) : Date.parse(text);
          const expected = chain
            .filter(
              (e) =>
                (query.actor === undefined || e.actor === query.actor) &&
                (query.action === undefined || e.action === query.action) &&
                (query.dataset === undefined || named(e).includes(query.dataset)) &&
                (query.since === undefined || Date.parse(e.at) >= at(query.since, false)) &&
                (query.until === undefined || Date.parse(e.at) < at(query.until, true)),
            )
            .reverse();
          const offset = query.offset ?? 0;
          expect(page.total).toBe(expected.length);
          expect(page.entries).toEqual(expected.slice(offset, offset + query.limit));
        },
      ),
      { numRuns: 150, seed: 12 },
    );
  });

  it('without a query it is the whole chain in order (the export)', async () => {
    const whole = await t.client('acme-officer').send<{ entries: AuditEntry[]; total: number }>('GET', `${path}/audit`);
    expect(whole.entries.map((e) => e.seq)).toEqual(chain.map((_, i) => i + 1));
    expect(whole.total).toBe(whole.entries.length);
  });

  it.each([
    ['limit=0', 'limit'],
    ['limit=1000', 'limit'],
    ['offset=-1', 'offset'],
    ['since=yesterday', 'since'],
    ['since=2024-02-31', 'since'],
    ['until=2099-13-45', 'until'],
    ['until=2099-01-01T25:00', 'until'],
    ['since=2020-01-01T1', 'since'],
    ['actor=a&actor=b', 'actor'],
    ['sort=seq', 'sort'],
  ])('refuses ?%s with the parameter named, and answers no entries', async (query, parameter) => {
    const refused = await refusal(t.client('acme-analyst').send('GET', `${path}/audit?${query}`), { details: true });
    expect(refused.status).toBe(400);
    expect(refused.code).toBe('INVALID_QUERY_STRING');
    expect(JSON.stringify(refused)).toContain(parameter);
    expect(JSON.stringify(refused)).not.toContain('"seq"');
  });

  it('the pure selection caps a page at 500', () => {
    const many = Array.from({ length: 700 }, (_, i) => ({ ...chain[0]!, seq: i + 1 }));
    expect(selectAuditEntries(many, { limit: 999 }).entries).toHaveLength(500);
  });
});
