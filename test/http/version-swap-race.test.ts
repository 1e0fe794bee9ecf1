import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { RoomRequestError } from '../../src/client/room-client.ts';
import { DEMO_EXTRACT } from '../../src/cli/demo/demo-extract.ts';
import { DEMO_MODEL } from '../../src/cli/demo/demo-model.ts';
import { toBase64 } from '../../src/crypto/bytes.ts';
import { sign } from '../../src/crypto/signatures.ts';
import { approvalSigningBytes } from '../../src/query/template.ts';
import { startTestRoom, uploadDemoDataset, type TestRoom } from '../support/test-room.ts';

// A query is planned against what the room knows of each loaded version (here: advertiser_customers holds
// one row per person, so a group's rows count its people) and then runs. A provider's new version can be
// swapped in between. Hostile case: the new version repeats one person 60 times under a country of its own;
// a plan made for the old version would count those 60 rows as 60 people and release that one person's
// group. The room must notice that a version it planned for was replaced, release nothing, and charge
// nothing.
let t: TestRoom;
beforeAll(async () => {
  t = await startTestRoom();
  await t.acceptAll();
  await uploadDemoDataset(t, 'advertiser_customers');
  await uploadDemoDataset(t, 'publisher_impressions');
});
afterAll(() => t?.close());

const COLUMNS =
  'email_hash, phone, age_band, country, loyalty_tier, signup_date, zip_code, birth_year, purchases, ' +
  'purchase_value, converted';
/** Swaps in a version where the first person appears 60 more times, with country 'ZZ'. */
async function swapInOnePersonSixtyTimes(name: string): Promise<void> {
  const engine = t.internals.engine;
  const repeated = COLUMNS.replace('country', "'ZZ' AS country");
  await engine.query(
    `CREATE TABLE demo.${name} AS SELECT ${COLUMNS} FROM demo.advertiser_customers UNION ALL ` +
      `SELECT ${repeated} FROM (SELECT * FROM demo.advertiser_customers LIMIT 1), range(60)`,
    {},
  );
  await engine.commitIncoming({ schema: 'demo', table: 'advertiser_customers', columns: [] }, name);
}

const ask = async (body: object) => {
  try {
    return await t
      .client('acme-analyst')
      .send<Record<string, unknown>>('POST', '/v1/collaborations/demo/queries', body);
  } catch (error) {
    if (error instanceof RoomRequestError) return { refused: error.status, code: error.code, message: error.message };
    throw error;
  }
};
const budget = async () => JSON.stringify(await t.client('acme-analyst').send('GET', '/v1/collaborations/demo/budget'));

describe('a new version swapped in between a plan and its run', () => {
  const byCountry = { sql: 'SELECT country, count(*) AS n FROM advertiser_customers GROUP BY country' };

  it('releases nothing planned for the version it replaced (threshold)', async () => {
    expect(await t.internals.engine.columnIsUnique('demo', 'advertiser_customers', 'email_hash')).toBe(true);
    const executor = t.internals.release.executor;
    const run = executor.run.bind(executor);
    const spy = vi.spyOn(executor, 'run').mockImplementationOnce(async (statement, parameters) => {
      await swapInOnePersonSixtyTimes('__incoming_race_1');
      return run(statement, parameters);
    });
    const answer = await ask(byCountry);
    spy.mockRestore();
    expect(answer).toMatchObject({ refused: 503, code: 'DATASET_CHANGED_DURING_QUERY' });
    // Planned again on the version now loaded, the one person's 60 rows are one person: no ZZ group.
    const again = await ask(byCountry);
    expect(JSON.stringify(again)).not.toContain('ZZ');
    expect(again).toMatchObject({ rows: expect.any(Array) });
  });

  it('gives a DP charge back when the version changed before the run started, not once it ran', async () => {
    const dp = { ...byCountry, dp: { epsilon: 0.5 } };
    const ledger = t.internals.release.ledger;
    const charge = ledger.charge.bind(ledger);
    // Swapped in after the charge, before the run: nothing was read, the charge comes back.
    await uploadDemoDataset(t, 'advertiser_customers');
    expect(await t.internals.engine.columnIsUnique('demo', 'advertiser_customers', 'email_hash')).toBe(true);
    const before = await budget();
    const onCharge = vi.spyOn(ledger, 'charge').mockImplementationOnce(async (...args) => {
      const charged = await charge(...args);
      await swapInOnePersonSixtyTimes('__incoming_race_2');
      return charged;
    });
    const early = await ask(dp);
    onCharge.mockRestore();
    expect(early).toMatchObject({ refused: 503, code: 'DATASET_CHANGED_DURING_QUERY' });
    expect(await budget()).toBe(before);
    // Swapped in once the run started: it read data, so the charge stands (a free run would still tell
    // whether and how fast it answers), and still nothing is released.
    await uploadDemoDataset(t, 'advertiser_customers');
    expect(await t.internals.engine.columnIsUnique('demo', 'advertiser_customers', 'email_hash')).toBe(true);
    const executor = t.internals.release.executor;
    const run = executor.run.bind(executor);
    const onRun = vi.spyOn(executor, 'run').mockImplementationOnce(async (statement, parameters) => {
      await swapInOnePersonSixtyTimes('__incoming_race_3');
      return run(statement, parameters);
    });
    const late = await ask(dp);
    onRun.mockRestore();
    expect(late).toMatchObject({ refused: 503, code: 'DATASET_CHANGED_DURING_QUERY' });
    expect(await budget()).not.toBe(before);
  });

  it('answers a query when a dataset it does not read changes under it', async () => {
    await uploadDemoDataset(t, 'advertiser_customers');
    const executor = t.internals.release.executor;
    const run = executor.run.bind(executor);
    const engine = t.internals.engine;
    const spy = vi.spyOn(executor, 'run').mockImplementationOnce(async (statement, parameters) => {
      await engine.query('CREATE TABLE demo.__incoming_other AS SELECT * FROM demo.publisher_impressions', {});
      await engine.commitIncoming({ schema: 'demo', table: 'publisher_impressions', columns: [] }, '__incoming_other');
      return run(statement, parameters);
    });
    const answer = await ask(byCountry);
    const swapped = spy.mock.calls.length;
    spy.mockRestore();
    expect(swapped).toBe(1);
    expect(answer).toMatchObject({ rows: expect.any(Array) });
  });

  it('releases no model whose passes read a version the one-row-per-person check did not see', async () => {
    await uploadDemoDataset(t, 'advertiser_customers');
    const path = '/v1/collaborations/demo';
    const proposed = await t
      .client('northwind-analyst')
      .send<{ hash: string }>('POST', `${path}/model-templates`, { ...DEMO_MODEL, name: 'race' });
    for (const officer of ['acme-officer', 'northwind-officer'])
      await t.client(officer).send('POST', `${path}/model-templates/race/approvals`, {
        hash: proposed.hash,
        decision: 'approve',
        signature: toBase64(sign(approvalSigningBytes('demo', proposed.hash, 'approve'), t.keys[officer]!.secretKey)),
      });
    const engine = t.internals.engine;
    const query = engine.query.bind(engine);
    let swapped = false;
    const spy = vi.spyOn(engine, 'query').mockImplementation(async (sql, parameters) => {
      // At the first training pass (the check has answered for the version before it).
      if (!swapped && sql.includes('__cr_clipped')) {
        swapped = true;
        spy.mockRestore();
        await swapInOnePersonSixtyTimes('__incoming_race_4');
      }
      return query(sql, parameters);
    });
    const train = () =>
      t
        .client('northwind-analyst')
        .send('POST', `${path}/models`, { template: 'race' })
        .catch((error: unknown) => error);
    const refused = await train();
    spy.mockRestore();
    expect(swapped).toBe(true);
    expect(refused).toBeInstanceOf(RoomRequestError);
    expect(refused).toMatchObject({ status: 409, code: 'DATASET_CHANGED_DURING_TRAINING' });
    // Asked again, the room checks the version now loaded, which repeats a person: refused by rule.
    expect(await train()).toMatchObject({ status: 422, code: 'MODEL_NOT_ONE_ROW_PER_PERSON' });
  });

  it('releases no extract searched on one version and read from another', async () => {
    await uploadDemoDataset(t, 'advertiser_customers');
    const path = '/v1/collaborations/demo';
    await t.client('northwind-analyst').send('POST', `${path}/extract-templates`, DEMO_EXTRACT);
    const { hash } = await t
      .client('acme-officer')
      .send<{ hash: string }>('GET', `${path}/extract-templates/${DEMO_EXTRACT.name}`);
    await t.client('acme-officer').send('POST', `${path}/extract-templates/${DEMO_EXTRACT.name}/approvals`, {
      hash,
      decision: 'approve',
      signature: toBase64(sign(approvalSigningBytes('demo', hash, 'approve'), t.keys['acme-officer']!.secretKey)),
    });
    const engine = t.internals.engine;
    const query = engine.query.bind(engine);
    let calls = 0;
    const spy = vi.spyOn(engine, 'query').mockImplementation(async (sql, parameters) => {
      // After the null check and the uniqueness answer, before the search's first read.
      calls += 1;
      if (calls === 2) {
        spy.mockRestore();
        await swapInOnePersonSixtyTimes('__incoming_race_5');
      }
      return query(sql, parameters);
    });
    const extract = () =>
      t
        .client('northwind-analyst')
        .send('POST', `${path}/extracts`, { template: DEMO_EXTRACT.name })
        .catch((error: unknown) => error);
    const refused = await extract();
    spy.mockRestore();
    expect(calls).toBeGreaterThanOrEqual(2);
    expect(refused).toMatchObject({ status: 409, code: 'DATASET_CHANGED_DURING_EXTRACT' });
    expect(await extract()).toMatchObject({ status: 422, code: 'EXTRACT_NOT_ONE_ROW_PER_PERSON' });
  });

  it('releases no extract labelled with a version the engine does not hold yet (the real upload order)', async () => {
    // An upload records its version in the state first and swaps the table in after: an extract run in
    // between reads the old table under the new number, and would escape composition with that version.
    const path = '/v1/collaborations/demo';
    await uploadDemoDataset(t, 'advertiser_customers');
    const engine = t.internals.engine;
    const commit = engine.commitIncoming.bind(engine);
    let recorded!: () => void;
    const stateWritten = new Promise<void>((resolve) => (recorded = resolve));
    let proceed!: () => void;
    const gate = new Promise<void>((resolve) => (proceed = resolve));
    const spy = vi.spyOn(engine, 'commitIncoming').mockImplementationOnce(async (...args) => {
      recorded();
      await gate;
      return commit(...args);
    });
    const upload = uploadDemoDataset(t, 'advertiser_customers');
    let extract: unknown;
    let version: number;
    try {
      await stateWritten;
      const status = await t
        .client('acme-analyst')
        .send<{ current: { version: number } }>('GET', `${path}/datasets/advertiser_customers`);
      version = status.current.version;
      expect(engine.liveVersion('demo', 'advertiser_customers')).toBe(version - 1);
      // A query answered meanwhile read the old table, and its audit entry says so.
      const answer = await ask(byCountry);
      expect(answer).toMatchObject({ audit: { details: { dataVersions: { advertiser_customers: version - 1 } } } });
      extract = await t
        .client('northwind-analyst')
        .send('POST', `${path}/extracts`, { template: DEMO_EXTRACT.name })
        .catch((error: unknown) => error);
      // A model would be refused after training: it is refused before, and its ε is not spent.
      const spent = () => t.client('northwind-analyst').send('GET', `${path}/budget`).then(JSON.stringify);
      const before = await spent();
      const model = await t
        .client('northwind-analyst')
        .send('POST', `${path}/models`, { template: 'race' })
        .catch((error: unknown) => error);
      expect(model).toMatchObject({ status: 409, code: 'DATASET_CHANGED_DURING_TRAINING' });
      expect(await spent()).toBe(before);
    } finally {
      proceed();
      await upload;
      spy.mockRestore();
    }
    expect(extract).toMatchObject({ status: 409, code: 'DATASET_CHANGED_DURING_EXTRACT' });
    expect(engine.liveVersion('demo', 'advertiser_customers')).toBe(version);
  });
});
