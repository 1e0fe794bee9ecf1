import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { review } from '../support/approve.ts';
import { startTestRoom, uploadDemoDataset, type TestRoom } from '../support/test-room.ts';

// Issue #12: answers carried timestamps as "Wed Dec 02 2026 00:56:35 GMT+0000 (Coordinated Universal
// Time)". Every timestamp in every answer read here must be ISO 8601 in UTC.
let t: TestRoom;
const path = '/v1/collaborations/demo';
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$/;

beforeAll(async () => {
  t = await startTestRoom({ config: { templatesDirectory: resolve('sql') } });
  await t.acceptAll();
  await uploadDemoDataset(t, 'advertiser_customers');
  await review(t, 'acme-officer', 'conversion_lift', 'approve');
}, 60_000);
afterAll(async () => t.close());

/** Every value under a key that names a moment (…At, at), anywhere in a JSON answer. */
function moments(value: unknown, out: string[] = []): string[] {
  if (Array.isArray(value)) value.forEach((v) => moments(v, out));
  else if (value && typeof value === 'object')
    for (const [key, v] of Object.entries(value)) {
      if ((key === 'at' || /[a-z]At$/.test(key)) && typeof v !== 'object') out.push(String(v));
      else moments(v, out);
    }
  return out;
}

describe('timestamps in answers', () => {
  it('are ISO 8601 UTC everywhere: acceptances, reviews, dataset versions, audit entries', async () => {
    const client = t.client('acme-officer');
    const answers = await Promise.all([
      client.send('GET', path),
      client.send('GET', `${path}/templates/conversion_lift`),
      client.send('GET', `${path}/datasets/advertiser_customers`),
      client.send('GET', `${path}/audit`),
    ]);
    const found = answers.flatMap((a) => moments(a));
    expect(found.length).toBeGreaterThanOrEqual(6);
    for (const moment of found) expect(moment).toMatch(ISO_UTC);
  });
});
