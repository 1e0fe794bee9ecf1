import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { RoomRequestError } from '../../src/client/room-client.ts';
import { currentVersion } from '../../src/store/state/dataset-versions.ts';
import { startTestRoom, uploadDemoDataset, type TestRoom } from '../support/test-room.ts';

// An upload records its version (and its audit entry) before the engine swaps the table in. If that swap
// fails, the state names a version the engine does not hold: queries read the old rows under the old
// number, and extracts and models refuse until the engine catches up. The room loads the recorded version
// from its envelope at once, as a restart would; when that fails too, the answer says what is true.
let t: TestRoom;
const path = '/v1/collaborations/demo';
beforeAll(async () => {
  t = await startTestRoom();
  await t.acceptAll();
  await uploadDemoDataset(t, 'advertiser_customers');
});
afterAll(() => t?.close());

const held = () => t.internals.engine.liveVersion('demo', 'advertiser_customers');
const recorded = async () => (await currentVersion(t.internals.state, 'demo', 'advertiser_customers'))?.version;
const uploads = async () =>
  (
    await t
      .client('acme-officer')
      .send<{ entries: { action: string; details: { version?: number } }[] }>('GET', `${path}/audit`)
  ).entries.filter((e) => e.action === 'dataset.uploaded');
const refusal = async (work: Promise<unknown>) => {
  try {
    await work;
  } catch (error) {
    if (error instanceof RoomRequestError) return { status: error.status, code: error.code, message: error.message };
    throw error;
  }
  throw new Error('expected a refusal');
};

describe('an upload whose swap fails after its version is recorded', () => {
  it('loads the recorded version from its envelope: the engine and the state agree, rows of the new file', async () => {
    const before = await recorded();
    const engine = t.internals.engine;
    const spy = vi
      .spyOn(engine, 'commitIncoming')
      .mockRejectedValueOnce(Object.assign(new Error('Out of Memory Error: could not allocate'), { code: undefined }));
    const result = await uploadDemoDataset(t, 'advertiser_customers');
    expect(spy).toHaveBeenCalledTimes(2);
    spy.mockRestore();
    expect(result.version).toBe(before! + 1);
    expect(await recorded()).toBe(result.version);
    expect(held()).toBe(result.version);
    // The rows are the file's, every one (the fixture has one row per person).
    const { rows } = await engine.query('SELECT count(*), count(DISTINCT email_hash) FROM demo.advertiser_customers');
    expect(rows[0]!.map(Number)).toEqual([result.rows, result.rows]);
    expect(
      await engine.query("SELECT count(*) FROM duckdb_tables() WHERE table_name LIKE '%incoming%'", {}),
    ).toMatchObject({ rows: [[0]] });
    expect((await uploads()).at(-1)?.details.version).toBe(result.version);
  });

  it('says the version is recorded but not loaded when the reload fails too; a later upload settles it', async () => {
    const before = (await recorded())!;
    const engine = t.internals.engine;
    const spy = vi
      .spyOn(engine, 'commitIncoming')
      .mockRejectedValue(new Error('IO Error: could not write to "/secret/path/row 42"'));
    const refused = await refusal(uploadDemoDataset(t, 'advertiser_customers'));
    spy.mockRestore();
    expect(refused).toMatchObject({ status: 503, code: 'UPLOAD_RECORDED_NOT_LOADED' });
    expect(refused.message).toContain(`Version ${before + 1}`);
    expect(refused.message).not.toMatch(/secret|IO Error|row 42/);
    // What is true: the state and the audit hold the new version, the engine the one before it.
    expect(await recorded()).toBe(before + 1);
    expect(held()).toBe(before);
    expect((await uploads()).at(-1)?.details.version).toBe(before + 1);
    // A model is refused before anything is charged while they disagree (it would read the old rows).
    // The next upload brings them together again.
    const next = await uploadDemoDataset(t, 'advertiser_customers');
    expect(next.version).toBe(before + 2);
    expect(held()).toBe(before + 2);
  });

  it('keeps a deletion that lands while the recorded version reloads: the rows do not come back', async () => {
    // Hostile review: the reload checked the state, decrypted the envelope, then queued its swap behind
    // the deletion's drop, and the swap put the deleted rows back, served to partners' queries.
    await uploadDemoDataset(t, 'advertiser_customers');
    const engine = t.internals.engine;
    const commit = engine.commitIncoming.bind(engine);
    let calls = 0;
    const spy = vi.spyOn(engine, 'commitIncoming').mockImplementation(async (shape, incoming, options) => {
      calls += 1;
      if (calls === 1) throw new Error('Out of Memory Error: could not allocate');
      await t.client('acme-officer').send('DELETE', `${path}/datasets/advertiser_customers`);
      return commit(shape, incoming, options);
    });
    const refused = await refusal(uploadDemoDataset(t, 'advertiser_customers'));
    spy.mockRestore();
    expect(calls).toBe(2);
    expect(refused).toMatchObject({ status: 409, code: 'UPLOAD_OVERTAKEN_BY_DELETION' });
    expect(await recorded()).toBeUndefined();
    expect(engine.tableExists('demo', 'advertiser_customers')).toBe(false);
    expect(held()).toBeUndefined();
    const query = await refusal(
      t.client('northwind-analyst').send('POST', `${path}/queries`, {
        sql: 'SELECT country, count(*) AS n FROM advertiser_customers GROUP BY country',
      }),
    );
    expect(query).toMatchObject({ code: 'DATASET_NOT_LOADED' });
    expect(
      await engine.query("SELECT count(*) FROM duckdb_tables() WHERE table_name LIKE '%incoming%'", {}),
    ).toMatchObject({ rows: [[0]] });
  });

  it('keeps a deletion that lands between an upload recording its version and swapping it in', async () => {
    await uploadDemoDataset(t, 'advertiser_customers');
    const engine = t.internals.engine;
    const commit = engine.commitIncoming.bind(engine);
    const spy = vi.spyOn(engine, 'commitIncoming').mockImplementationOnce(async (shape, incoming, options) => {
      await t.client('acme-officer').send('DELETE', `${path}/datasets/advertiser_customers`);
      return commit(shape, incoming, options);
    });
    const refused = await refusal(uploadDemoDataset(t, 'advertiser_customers'));
    spy.mockRestore();
    expect(refused).toMatchObject({ status: 409, code: 'UPLOAD_OVERTAKEN_BY_DELETION' });
    expect(await recorded()).toBeUndefined();
    expect(engine.tableExists('demo', 'advertiser_customers')).toBe(false);
    // The dataset starts again with the next upload.
    const next = await uploadDemoDataset(t, 'advertiser_customers');
    expect(held()).toBe(next.version);
  });

  it('drops the table of a version retention deletes while the engine still serves it', async () => {
    // Third hostile review: after a swap and its reload both failed, the engine served version N while the
    // state named N + 1; N's retention ran out first, the sweep shredded N (not the whole dataset, so no
    // drop) and partners' queries went on reading rows the state called deleted.
    const first = await uploadDemoDataset(t, 'advertiser_customers');
    const v1 = (await currentVersion(t.internals.state, 'demo', 'advertiser_customers'))!;
    expect(v1.version).toBe(first.version);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const spy = vi.spyOn(t.internals.engine, 'commitIncoming').mockRejectedValue(new Error('IO Error: disk'));
    const failed = await refusal(uploadDemoDataset(t, 'advertiser_customers'));
    spy.mockRestore();
    expect(failed).toMatchObject({ code: 'UPLOAD_RECORDED_NOT_LOADED' });
    expect(held()).toBe(v1.version);
    const swept = await t.room.sweepRetention(Date.parse(v1.uploadedAt) + 180 * 86_400_000);
    expect(swept.flatMap((d) => d.versions)).toContain(v1.version);
    expect(await recorded()).toBe(v1.version + 1);
    expect(t.internals.engine.tableExists('demo', 'advertiser_customers')).toBe(false);
    const query = await refusal(
      t.client('northwind-analyst').send('POST', `${path}/queries`, {
        sql: 'SELECT country, count(*) AS n FROM advertiser_customers GROUP BY country',
      }),
    );
    expect(query).toMatchObject({ code: 'DATASET_NOT_LOADED' });
  });
});
