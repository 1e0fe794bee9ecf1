import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uploadFile } from '../../src/client/upload-file.ts';
import type { PrincipalKey } from '../../src/keys/principal-key-file.ts';
import { refusal } from '../support/refusal.ts';
import { DEMO_PROVIDERS, startTestRoom, uploadDemoDataset, type TestRoom } from '../support/test-room.ts';

// Issue #12, hostile review of deletion: an upload held open by a slow (or hostile) client used to
// hold the engine's one admin connection and its load queue, so every parse, swap and drop waited
// for it; a DELETE during an upload was undone when the upload committed; a stalled body held the
// load for Node's 5-minute limit. Each is played here with an upload paused mid-body on purpose.
const path = '/v1/collaborations/demo';
const COUNT_CUSTOMERS =
  'SELECT country, count(DISTINCT email_hash) AS people FROM advertiser_customers GROUP BY country';

const bound = (value: unknown, target: object): unknown =>
  typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;

/** The provider's real upload of a demo fixture, paused after its first piece until `open()`. */
function pausedUpload(t: TestRoom, dataset: string, options: { trickle?: boolean } = {}) {
  const principal = DEMO_PROVIDERS[dataset]!;
  const client = t.client(principal);
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  let reached!: () => void;
  const paused = new Promise<void>((resolve) => (reached = resolve));
  // The real client, with only its streamed body wrapped (a Proxy: RoomClient keeps #private fields).
  const gated = new Proxy(client, {
    get: (target, property) =>
      property === 'stream'
        ? (method: string, route: string, body: AsyncIterable<Uint8Array>) =>
            target.stream(
              method,
              route,
              (async function* () {
                let first = true;
                for await (const piece of body) {
                  if (first) {
                    yield piece;
                    first = false;
                    reached();
                    if (!options.trickle) await gate;
                  } else if (options.trickle) {
                    // The rest of the real envelope a byte every 100 ms: each byte used to reset the idle timer.
                    for (let i = 0; i < piece.length; i++) {
                      await new Promise((resolve) => setTimeout(resolve, 100));
                      yield piece.subarray(i, i + 1);
                    }
                  } else yield piece;
                }
              })(),
            )
        : bound(Reflect.get(target, property, target), target),
  });
  const done = uploadFile({
    client: gated,
    key: t.keys[principal] as PrincipalKey,
    collaboration: 'demo',
    dataset,
    file: join(process.cwd(), 'fixtures', `${dataset}.csv`),
  });
  done.catch(() => undefined);
  return { paused, open, done };
}

/** Resolves with the value, or rejects if it takes longer than `ms` (it used to wait for the upload). */
const within = <T>(ms: number, work: Promise<T>): Promise<T> =>
  Promise.race([
    work,
    new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`still waiting after ${ms} ms`)), ms)),
  ]);

describe('an upload held open by its client', () => {
  let t: TestRoom;
  beforeAll(async () => {
    t = await startTestRoom({ config: { uploadIdleTimeoutMs: 1_500 } });
    await t.acceptAll();
    for (const dataset of ['advertiser_customers', 'publisher_impressions']) await uploadDemoDataset(t, dataset);
  }, 60_000);
  afterAll(async () => t.close());

  it('holds up no query, swap or drop of another dataset, and a dropped table is unreadable at once', async () => {
    const slow = pausedUpload(t, 'publisher_impressions');
    try {
      await slow.paused;
      await new Promise((resolve) => setTimeout(resolve, 200)); // the room is now inside the load
      const analyst = t.client('acme-analyst');
      // A query parses and renders SQL while the other load is open.
      expect(
        (await within(3_000, analyst.send<{ rows: unknown[] }>('POST', `${path}/queries`, { sql: COUNT_CUSTOMERS })))
          .rows.length,
      ).toBeGreaterThan(0);
      // Deleting another dataset returns, and its table is gone before the upload ends.
      await within(3_000, t.client('acme-officer').send('DELETE', `${path}/datasets/advertiser_customers`));
      expect(t.internals.engine.tableExists('demo', 'advertiser_customers')).toBe(false);
      expect(await refusal(analyst.send('POST', `${path}/queries`, { sql: COUNT_CUSTOMERS }))).toEqual({
        status: 409,
        code: 'DATASET_NOT_LOADED',
      });
      // A second upload (of the deleted dataset, anew) loads and commits beside the paused one.
      expect(await within(5_000, uploadDemoDataset(t, 'advertiser_customers'))).toMatchObject({ version: 2 });
    } finally {
      slow.open();
    }
    expect(await slow.done).toMatchObject({ version: 2 });
  });

  it('a deletion that commits while the upload streams wins: the upload is refused, nothing returns', async () => {
    const slow = pausedUpload(t, 'advertiser_customers');
    try {
      await slow.paused;
      await new Promise((resolve) => setTimeout(resolve, 200)); // the room has read the current version
      await t.client('acme-officer').send('DELETE', `${path}/datasets/advertiser_customers`);
    } finally {
      slow.open();
    }
    expect(await refusal(slow.done)).toEqual({ status: 409, code: 'UPLOAD_OVERTAKEN_BY_DELETION' });
    const status = await t
      .client('acme-analyst')
      .send<{ current: unknown }>('GET', `${path}/datasets/advertiser_customers`);
    expect(status.current).toBeNull();
    expect(t.internals.engine.tableExists('demo', 'advertiser_customers')).toBe(false);
    const envelopes = await readdir(join(t.config.dataDirectory, 'envelopes', 'demo'));
    expect(envelopes.filter((f) => f.startsWith('advertiser_customers.'))).toEqual([]);
    const keys = await t.internals.state.all(
      "SELECT 1 FROM storage_keys WHERE collaboration = 'demo' AND dataset = 'advertiser_customers'",
    );
    expect(keys).toEqual([]);
  });

  it('one upload per member loads at a time: a second is refused before its body is read', async () => {
    const slow = pausedUpload(t, 'publisher_impressions');
    try {
      await slow.paused;
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(await refusal(uploadDemoDataset(t, 'publisher_impressions'))).toEqual({
        status: 429,
        code: 'UPLOAD_IN_PROGRESS',
      });
      // Another member's upload still loads beside it.
      expect(await within(5_000, uploadDemoDataset(t, 'advertiser_customers'))).toMatchObject({
        rows: expect.any(Number),
      });
    } finally {
      slow.open();
    }
    await slow.done;
  });

  it('a trickle (a byte every 100 ms) is a stall too: refused after the idle limit', async () => {
    const slow = pausedUpload(t, 'publisher_impressions', { trickle: true });
    try {
      await slow.paused;
      expect(await refusal(within(10_000, slow.done))).toEqual({ status: 408, code: 'UPLOAD_STALLED' });
    } finally {
      slow.open();
    }
  });

  it('a body that stops arriving is refused after the idle limit, and the dataset stays as it was', async () => {
    const before = await t
      .client('acme-analyst')
      .send<{ current: { version: number } }>('GET', `${path}/datasets/publisher_impressions`);
    const slow = pausedUpload(t, 'publisher_impressions');
    const started = Date.now();
    try {
      await slow.paused;
      expect(await refusal(within(10_000, slow.done))).toEqual({ status: 408, code: 'UPLOAD_STALLED' });
      expect(Date.now() - started).toBeGreaterThanOrEqual(1_400);
    } finally {
      slow.open();
    }
    const after = await t
      .client('acme-analyst')
      .send<{ current: { version: number } }>('GET', `${path}/datasets/publisher_impressions`);
    expect(after.current.version).toBe(before.current.version);
    expect(t.internals.engine.tableExists('demo', 'publisher_impressions')).toBe(true);
  });
});
