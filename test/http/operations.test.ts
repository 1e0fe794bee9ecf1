import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { refusal } from '../support/refusal.ts';
import { startTestRoom, uploadDemoDataset, type TestRoom } from '../support/test-room.ts';

// Issue #12, operations: request ids on answers and log lines (with principal, collaboration and
// error code), Prometheus metrics that count what the room did (and carry no data value), readiness.
const path = '/v1/collaborations/demo';
let t: TestRoom;
const logLines: string[] = [];

beforeAll(async () => {
  t = await startTestRoom({ logLines });
  await t.acceptAll();
  await uploadDemoDataset(t, 'advertiser_customers');
}, 60_000);
afterAll(async () => t.close());

const metric = (text: string, name: string, labels: Record<string, string>) => {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && wanted.every((w) => l.includes(w)));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
};

describe('request ids and request log lines', () => {
  it('echoes a caller’s X-Request-Id, mints one otherwise, logs it with principal, collaboration, code', async () => {
    const mine = await fetch(`${t.baseUrl}/v1/room`, { headers: { 'x-request-id': 'trace-42.a_b' } });
    expect(mine.headers.get('x-request-id')).toBe('trace-42.a_b');
    const minted = await fetch(`${t.baseUrl}/v1/room`, { headers: { 'x-request-id': 'no spaces <allowed>' } });
    expect(minted.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);

    const refused = await refusal(
      t.client('acme-analyst').send('POST', `${path}/queries`, { sql: 'SELECT email_hash FROM advertiser_customers' }),
    );
    expect(refused.code).toBe('QUERY_REFUSED');
    const line = logLines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.code === 'QUERY_REFUSED');
    expect(line).toMatchObject({ principal: 'acme-analyst', collaboration: 'demo', code: 'QUERY_REFUSED' });
    expect((line as { req: { id: string } }).req.id).toMatch(/^[0-9a-f-]{36}$/);
    // Signatures and nonces stay out of the log.
    expect(logLines.join('\n')).not.toMatch(/x-cleanroom-signature":"[A-Za-z0-9+/]{20}/);
  });
});

describe('GET /v1/metrics', () => {
  it('counts requests by route, refusals by code, ε by dataset, suppressed groups, upload bytes', async () => {
    const analyst = t.client('acme-analyst');
    await analyst.send('POST', `${path}/queries`, {
      sql: 'SELECT country, count(*) AS n FROM advertiser_customers GROUP BY country',
      dp: { epsilon: 0.75 },
    });
    // Country × age band × tier makes groups under the minimum: some are suppressed.
    const small = await analyst.send<{ privacy: { groupsSuppressed: number } }>('POST', `${path}/queries`, {
      sql:
        'SELECT country, age_band, loyalty_tier, count(DISTINCT email_hash) AS n FROM advertiser_customers ' +
        'GROUP BY country, age_band, loyalty_tier',
    });
    expect(small.privacy.groupsSuppressed).toBeGreaterThan(0);
    const response = await fetch(`${t.baseUrl}/v1/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/text\/plain/);
    const text = await response.text();
    expect(metric(text, 'cleanroom_dp_epsilon_spent_total', { dataset: 'advertiser_customers' })).toBe(0.75);
    expect(metric(text, 'cleanroom_refusals_total', { code: 'QUERY_REFUSED' })).toBeGreaterThanOrEqual(1);
    expect(metric(text, 'cleanroom_groups_suppressed_total', { collaboration: 'demo' })).toBe(
      small.privacy.groupsSuppressed,
    );
    expect(metric(text, 'cleanroom_upload_bytes_total', { dataset: 'advertiser_customers' })).toBeGreaterThan(0);
    expect(
      metric(text, 'cleanroom_http_requests_total', {
        route: '/v1/collaborations/:id/queries',
        method: 'POST',
        status: '200',
      }),
    ).toBe(2);
    expect(text).toContain('cleanroom_query_duration_seconds_bucket{le="0.5",mode="threshold"}');
    // No data value, key or person in any label.
    const raw = await t.internals.engine.query('SELECT email_hash, zip_code FROM demo.advertiser_customers LIMIT 50');
    for (const [email, zip] of raw.rows) {
      expect(text).not.toContain(String(email));
      expect(text).not.toContain(`"${String(zip)}"`);
    }
    expect(text).not.toContain(t.keys['acme-analyst']!.publicKeyText);
  });

  it('without a token, a request relayed by a proxy on the host is not taken for loopback', async () => {
    expect((await fetch(`${t.baseUrl}/v1/metrics`)).status).toBe(200);
    for (const header of ['x-forwarded-for', 'forwarded', 'x-real-ip']) {
      const relayed = await fetch(`${t.baseUrl}/v1/metrics`, { headers: { [header]: '203.0.113.7' } });
      expect(relayed.status).toBe(403);
      expect(((await relayed.json()) as { error: { code: string } }).error.code).toBe('METRICS_FORBIDDEN');
    }
  });

  it('with a token configured, only its bearer reads them', async () => {
    const guarded = await startTestRoom({ config: { metricsToken: 'sekret-token-123' } });
    try {
      expect((await fetch(`${guarded.baseUrl}/v1/metrics`)).status).toBe(403);
      const wrong = await fetch(`${guarded.baseUrl}/v1/metrics`, { headers: { authorization: 'Bearer nope' } });
      expect(wrong.status).toBe(403);
      const right = await fetch(`${guarded.baseUrl}/v1/metrics`, {
        headers: { authorization: 'Bearer sekret-token-123' },
      });
      expect(right.status).toBe(200);
      expect(await right.text()).toContain('cleanroom_http_requests_total');
    } finally {
      await guarded.close();
    }
  });
});

describe('GET /v1/ready', () => {
  it('is 200 when everything loaded and 503 naming a quarantined policy file', async () => {
    expect((await fetch(`${t.baseUrl}/v1/ready`)).status).toBe(200);
    await writeFile(join(t.dir, 'policies', 'broken.json'), '{ "id": ');
    await t.restart();
    const ready = await fetch(`${t.baseUrl}/v1/ready`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toEqual({
      status: 'not ready',
      quarantinedPolicies: ['broken.json'],
      datasetsNotLoaded: [],
    });
  });
});
