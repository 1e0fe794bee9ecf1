import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DEMO_MODEL } from '../../src/cli/demo/demo-model.ts';
import { reviewTemplateAs } from '../../src/cli/commands/query-commands.ts';
import type { ModelCard } from '../../src/room/models.ts';
import { recordVersion, currentVersion } from '../../src/store/state/dataset-versions.ts';
import { refusal } from '../support/refusal.ts';
import { startTestRoom, uploadDemoDataset, type TestRoom } from '../support/test-room.ts';

let t: TestRoom;
const path = '/v1/collaborations/demo';

/** Proposes a model template as Northwind's modeler and has Acme's officer approve it; answers its name. */
async function approved(overrides: Record<string, unknown>): Promise<string> {
  const { joined: _joined, ...alone } = DEMO_MODEL;
  const doc = JSON.parse(JSON.stringify({ ...alone, ...overrides })) as Record<string, unknown>;
  const modeler = t.client('northwind-analyst');
  const proposed = await modeler.send<{ hash: string }>('POST', `${path}/model-templates`, doc);
  const name = String(doc.name);
  await reviewTemplateAs(
    t.client('acme-officer'),
    t.keys['acme-officer']!,
    'demo',
    name,
    'approve',
    proposed.hash,
    undefined,
    'model-templates',
  );
  return name;
}

/** Proposes, approves and trains a model template. */
async function trained(overrides: Record<string, unknown>): Promise<ModelCard> {
  const name = await approved(overrides);
  return t.client('northwind-analyst').send<ModelCard>('POST', `${path}/models`, { template: name });
}

beforeAll(async () => {
  // This room lets a model be trained without DP, to show such a model never scores rows in the room.
  t = await startTestRoom({
    edit: (policy) => {
      const rules = policy.datasets.find((d) => d.name === 'advertiser_customers')!.rules;
      rules.model!.dpRequired = false;
      // The exact model here reads the fixture, where a row stands apart with leverage 0.027 (over 1/50).
      rules.minGroupSize = 25;
      // Each DP model here costs ε 1: enough budget for every test in this file.
      rules.dp!.budget = { ...rules.dp!.budget, epsilon: 10 };
    },
  });
  await t.acceptAll();
  await uploadDemoDataset(t, 'advertiser_customers');
}, 60_000);
afterAll(async () => t.close());

describe('scoring rows inside the room', () => {
  it('scores every row of a dataset for its owner only, equal to the card applied to the raw rows', async () => {
    const card = await trained({ name: 'dp_conversion' });
    expect(card.dp?.epsilon).toBe(1);
    // Acme owns the rows: its analyst lists the card (trained on its data) and has its rows scored.
    const acme = t.client('acme-analyst');
    const { models } = await acme.send<{ models: ModelCard[] }>('GET', `${path}/models`);
    expect(models.map((m) => m.auditSeq)).toContain(card.auditSeq);
    const csv = Buffer.from(
      await acme.sendForBytes('POST', `${path}/models/${card.auditSeq}/scores`, { dataset: 'advertiser_customers' }),
    ).toString('utf8');
    const [header, ...lines] = csv.trimEnd().split(/\r?\n/);
    expect(header).toBe('email_hash,score');
    // The oracle: raw rows, encoded here from the card as a scorer elsewhere would.
    const raw = await t.internals.engine.query(
      'SELECT email_hash, purchases, purchase_value, country, loyalty_tier FROM demo.advertiser_customers',
    );
    expect(lines).toHaveLength(raw.rows.length);
    const scores = new Map(lines.map((l) => l.split(',') as [string, string]));
    const clip = (v: number, [lo, hi]: readonly [number, number]) => Math.max(lo, Math.min(hi, v));
    for (const [i, row] of raw.rows.entries()) {
      if (i % 97 !== 0) continue;
      const values: Record<string, unknown> = {
        purchases: row[1],
        purchase_value: row[2],
        country: row[3],
        loyalty_tier: row[4],
      };
      const eta = card.features.reduce((s, f, j) => {
        const beta = card.coefficients[j]!;
        if (f.encoding === 'intercept') return s + beta;
        if (f.encoding === 'numeric') return s + beta * clip(Number(values[f.name]), f.bounds);
        return s + (values[f.name] === f.level ? beta : 0);
      }, 0);
      expect(Number(scores.get(String(row[0])))).toBeCloseTo(1 / (1 + Math.exp(-eta)), 9);
    }
    // Scored rows go to whoever owns them: Northwind (the model's recipient) cannot have Acme's rows scored.
    expect(
      await refusal(
        t.client('northwind-analyst').send('POST', `${path}/models/${card.auditSeq}/scores`, {
          dataset: 'advertiser_customers',
        }),
      ),
    ).toEqual({ status: 403, code: 'NOT_THE_OWNER' });
    const audit = await t
      .client('acme-officer')
      .send<{ entries: { action: string; details: { rows?: number } }[] }>('GET', `${path}/audit`);
    expect(audit.entries.filter((e) => e.action === 'model.scored').map((e) => e.details.rows)).toEqual([
      raw.rows.length,
    ]);
  });

  it('refuses a model trained without DP, an unknown model, and features the dataset lacks', async () => {
    const card = await trained({ name: 'exact_conversion', dp: undefined });
    expect(card.dp).toBeNull();
    const acme = t.client('acme-analyst');
    expect(
      await refusal(acme.send('POST', `${path}/models/${card.auditSeq}/scores`, { dataset: 'advertiser_customers' })),
    ).toEqual({ status: 403, code: 'MODEL_NOT_DP' });
    expect(
      await refusal(acme.send('POST', `${path}/models/99999/scores`, { dataset: 'advertiser_customers' })),
    ).toEqual({ status: 404, code: 'MODEL_NOT_FOUND' });
    expect(await refusal(acme.send('GET', `${path}/models/0`))).toEqual({ status: 400, code: 'INVALID_REQUEST' });
    // A DP model scored on a dataset without its features: the room never looks them up in another member's rows.
    const dp = await trained({ name: 'dp_alone' });
    expect(
      await refusal(
        t.client('northwind-analyst').send('POST', `${path}/models/${dp.auditSeq}/scores`, {
          dataset: 'publisher_impressions',
        }),
        { details: true },
      ),
    ).toMatchObject({ status: 422, code: 'MODEL_FEATURES_MISSING' });
    // Scoring reads the dataset in the room, so the room's residency applies as to a query (the
    // operator narrowing what it processes, as at a restart in another region).
    const config = t.internals.config as { residency: unknown };
    const residency = config.residency;
    config.residency = { region: 'us-east', processes: ['us-east'] };
    try {
      expect(
        await refusal(acme.send('POST', `${path}/models/${dp.auditSeq}/scores`, { dataset: 'advertiser_customers' })),
      ).toEqual({ status: 403, code: 'REGION_NOT_ALLOWED' });
    } finally {
      config.residency = residency;
    }
  });
});

describe('a dataset that changes while a model trains', () => {
  it('releases nothing if a dataset read gets a new version mid-training; the ε stays spent', async () => {
    const name = await approved({ name: 'racing' });
    const collaboration = t.room.collaboration('demo');
    const caller = t.room.principal('demo', t.keys['northwind-analyst']!.publicKeyText);
    const current = (await currentVersion(t.internals.state, 'demo', 'advertiser_customers'))!;
    // A new version recorded (as an upload would) once the first pass has read the data; training waits.
    let uploaded = false;
    const attempt = t.room.trainModel(collaboration, caller, { template: name }, async () => {
      if (uploaded) return;
      uploaded = true;
      await t.internals.state.write((tx) =>
        recordVersion(tx, {
          ...current,
          version: current.version + 1,
          envelopeSha256: 'f'.repeat(64),
          envelopeFile: 'racing.cre',
          uploadedAt: new Date().toISOString(),
        }),
      );
    });
    expect(await refusal(attempt)).toEqual({ status: 0, code: 'DATASET_CHANGED_DURING_TRAINING' });
    const { entries } = await t
      .client('acme-officer')
      .send<{ entries: { action: string; details: { errorClass?: string; refunded?: boolean } }[] }>(
        'GET',
        `${path}/audit`,
      );
    expect(entries.at(-1)).toMatchObject({
      action: 'model.failed',
      details: { errorClass: 'DATASET_CHANGED_DURING_TRAINING', refunded: false },
    });
    // The upload then finishes: the engine swaps in the version the state names (the same rows here).
    const engine = t.internals.engine;
    await engine.query('CREATE TABLE demo.__incoming_racing AS SELECT * FROM demo.advertiser_customers', {});
    await engine.commitIncoming({ schema: 'demo', table: 'advertiser_customers', columns: [] }, '__incoming_racing', {
      version: current.version + 1,
    });
  });
});

describe('a dataset that changes while its rows are scored', () => {
  const score = (seq: number) =>
    t.client('acme-analyst').sendForBytes('POST', `${path}/models/${seq}/scores`, { dataset: 'advertiser_customers' });
  const lastAudit = async () =>
    (
      await t
        .client('acme-officer')
        .send<{ entries: { action: string; details: Record<string, unknown> }[] }>('GET', `${path}/audit`)
    ).entries.at(-1);

  it('returns no scores read across a swap, and names the version the engine held, not the state', async () => {
    const card = await trained({ name: 'scored_in_a_race' });
    const engine = t.internals.engine;
    const held = engine.liveVersion('demo', 'advertiser_customers')!;
    expect(held).toBeGreaterThan(0);
    // A new version swapped in while the scoring statement reads (the same rows: only the swap matters).
    const query = engine.query.bind(engine);
    const spy = vi.spyOn(engine, 'query').mockImplementation(async (sql, parameters) => {
      if (sql.includes('__cr_s')) {
        spy.mockRestore();
        await query('CREATE TABLE demo.__incoming_scored AS SELECT * FROM demo.advertiser_customers', {});
        await engine.commitIncoming(
          { schema: 'demo', table: 'advertiser_customers', columns: [] },
          '__incoming_scored',
          {
            version: held,
          },
        );
      }
      return query(sql, parameters);
    });
    const before = (await lastAudit())?.action;
    expect(await refusal(score(card.auditSeq))).toEqual({ status: 503, code: 'DATASET_CHANGED_DURING_SCORING' });
    spy.mockRestore();
    expect(before).toBe('model.trained');
    expect((await lastAudit())?.action).toBe('model.trained');

    // An upload records its version in the state before the engine swaps it in: rows scored meanwhile
    // are the engine's version, and the audit says so.
    const current = (await currentVersion(t.internals.state, 'demo', 'advertiser_customers'))!;
    await t.internals.state.write((tx) =>
      recordVersion(tx, {
        ...current,
        version: current.version + 1,
        envelopeSha256: 'e'.repeat(64),
        envelopeFile: 'scored.cre',
        uploadedAt: new Date().toISOString(),
      }),
    );
    await score(card.auditSeq);
    expect(await lastAudit()).toMatchObject({
      action: 'model.scored',
      details: { model: card.auditSeq, dataVersion: held },
    });
    expect(held).not.toBe(current.version + 1);
  });
});
