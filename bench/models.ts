// Models benchmark (issue #11, item 9), in one run on synthetic people (8 numeric features with declared bounds):
// 1. training time through the room's path (trainModel with the room's ReleaseContext: one-row-per-person check,
//    holdout split, clipping and rescaling, training passes, holdout metrics) next to the same model fitted plainly
//    on the raw table (unclipped sums in DuckDB, solved with ml-matrix), for OLS, AdaSSP, IRLS and objective
//    perturbation; 2. AdaSSP's relative error by n and ε; 3. held-out AUC of DP logistic next to non-private.
// npm run bench:models -- [--sizes 10k,100k,1m] [--epsilons 0.1,1,10] [--runs 3] [--seeds 51] [--auc-sizes 100k,1m]
//   [--uniform-sizes 100k,1m] [--split-salt text]
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { checkedModelTemplate, type ModelTemplateDocument } from '../src/model/model-template.ts';
import type { Collaboration, Dataset } from '../src/policy/collaboration.ts';
import { trainModel } from '../src/release/model-release.ts';
import { startTestRoom, type PolicyDraft } from '../test/support/test-room.ts';
import { ENGINE_THREADS } from './support/bench-room.ts';
import { fixed, median, sizeRows, table } from './support/measure.ts';
import {
  COLUMNS,
  describeDesign,
  type Spread,
  FEATURES,
  generatorSql,
  LINEAR_LABEL,
  LOGISTIC_LABEL,
  modelDataset,
  trueBeta,
} from './support/model-people.ts';
import { holdoutSql, rawAuc, rawLinear, rawLogistic, type RawFit, type RawRows } from './support/raw-fits.ts';
import { timedReleaseContext, type EngineCalls } from './support/timed-release-context.ts';

const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '10k,100k,1m' },
    epsilons: { type: 'string', default: '0.1,1,10' },
    runs: { type: 'string', default: '3' },
    seeds: { type: 'string', default: '51' },
    'auc-sizes': { type: 'string', default: '100k,1m' },
    // AdaSSP again on people spread uniformly over the declared bounds (see Spread in support/model-people.ts).
    'uniform-sizes': { type: 'string', default: '100k,1m' },
    // The holdout split's salt: fixed, so every run trains on the same people and runs compare (the room's own
    // salt is a fresh secret per room, which made the accuracy medians move between runs).
    'split-salt': { type: 'string', default: 'bench:models split' },
  },
});
const sizes = values.sizes.split(',');
const aucSizes = values['auc-sizes'].split(',');
const uniformSizes = values['uniform-sizes'].split(',').filter((size) => size !== '');
const epsilons = values.epsilons.split(',').map(Number);
const runs = Number(values.runs);
const seeds = Number(values.seeds);
const timingSize = sizes.reduce((a, b) => (sizeRows(b) > sizeRows(a) ? b : a));
const DELTA = 1e-6;
const started = performance.now();
const progress = (text: string): void =>
  void process.stderr.write(`  [${fixed((performance.now() - started) / 1000, 0)} s] ${text}\n`);
const datasetName = (size: string, spread: Spread = 'normal') =>
  `model_people_${spread === 'uniform' ? 'uniform_' : ''}${size.toLowerCase()}`;
const datasets = [
  ...[...new Set([...sizes, ...aucSizes])].map((size) => ({ size, spread: 'normal' as Spread })),
  ...uniformSizes.map((size) => ({ size, spread: 'uniform' as Spread })),
];
const featureNames = FEATURES.map((f) => f.name);

const t = await startTestRoom({
  edit: (policy) => {
    for (const { size, spread } of datasets)
      policy.datasets.push(modelDataset(datasetName(size, spread)) as PolicyDraft['datasets'][number]);
  },
  config: {
    maxUploadBytes: 20 * 1024 ** 3,
    engine: { memoryLimit: '16GB', threads: ENGINE_THREADS, statementTimeoutMs: 600_000 },
  },
});
await t.acceptAll();
const engine = t.internals.engine;
const collaboration: Collaboration = t.room.collaboration('demo');

// The table an upload would leave: created in the room's engine, then swapped in by the engine's own commit.
const shape = (name: string) => ({ schema: 'demo', table: name, columns: COLUMNS });
const commit = async (name: string, select: string) => {
  const incoming = `__incoming_${name}`;
  await engine.query(`CREATE TABLE demo.${incoming} AS ${select}`, {});
  await engine.commitIncoming(shape(name), incoming);
};
await engine.query('CREATE SCHEMA IF NOT EXISTS demo', {});
for (const { size, spread } of datasets) {
  const t0 = performance.now();
  await commit(datasetName(size, spread), generatorSql(sizeRows(size), spread));
  progress(`generated ${datasetName(size, spread)} in ${fixed((performance.now() - t0) / 1000, 2)} s`);
}
/** A new version of the same rows, so the room's per-version uniqueness check runs again (as after an upload). */
const reload = (name: string) => commit(name, `SELECT * FROM demo.${name}`);

const template = (
  name: string,
  size: string,
  model: 'linear' | 'logistic',
  dp?: { epsilon: number; delta: number },
  spread: Spread = 'normal',
): ModelTemplateDocument =>
  checkedModelTemplate(
    {
      kind: 'model',
      name,
      collaboration: 'demo',
      description: 'bench:models',
      dataset: datasetName(size, spread),
      model,
      label: model === 'linear' ? LINEAR_LABEL.name : LOGISTIC_LABEL.name,
      features: featureNames,
      categories: [],
      ...(dp ? { dp } : {}),
      recipient: 'northwind',
    },
    collaboration,
  );
const train = async (doc: ModelTemplateDocument) => {
  const timed = timedReleaseContext(t.internals.release);
  const t0 = performance.now();
  const dataset = collaboration.datasets.get(doc.dataset) as Dataset;
  const card = await trainModel(timed.ctx, collaboration, dataset, doc, { splitSalt: salt(doc) });
  return { card, ms: performance.now() - t0, calls: timed.calls };
};
const rows = (size: string, label: string, where?: string, spread: Spread = 'normal'): RawRows => ({
  table: `demo.${datasetName(size, spread)}`,
  features: featureNames,
  label,
  ...(where ? { where } : {}),
});
/** The salt of a dataset's holdout split (the same people held out for every model of it, and in every run). */
const salt = (doc: ModelTemplateDocument) => `${values['split-salt']}:${doc.dataset}`;
/** The training side (or holdout) of a template's dataset, as the room splits it. */
const side = (doc: ModelTemplateDocument, holdout: boolean) =>
  holdout ? holdoutSql(salt(doc), 'person_id') : `NOT (${holdoutSql(salt(doc), 'person_id')})`;

const sum = (xs: readonly number[]) => xs.reduce((s, v) => s + v, 0);
const norm = (v: readonly number[]) => Math.hypot(...v);
const relative = (a: readonly number[], b: readonly number[]) => norm(a.map((v, i) => v - (b[i] ?? 0))) / norm(b);
/** The slopes alone, each times its feature's declared width: unit-free, and not dominated by the intercept. */
const slopesPerWidth = (beta: readonly number[]) =>
  FEATURES.map((f, j) => (beta[j + 1] ?? 0) * (f.bounds[1] - f.bounds[0]));
const percent = (v: number) => `${fixed(v * 100, v >= 0.1 ? 1 : v >= 0.01 ? 2 : 3)}%`;
const seconds = (ms: number) => fixed(ms / 1000, 3);

console.log(
  `models bench ${new Date().toISOString()}: node ${process.version}, DuckDB threads ${ENGINE_THREADS}, ` +
    `load average at start ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
);
console.log(`design: ${describeDesign()}\n`);

// 1. Training time at the largest size.
interface Timing {
  ms: number[];
  /** the raw fit timed right after each room run (load on this machine drifts; adjacent pairs share it) */
  rawMs: number[];
  /** the same model by hand: clipped features, the training side only, then a holdout metric query */
  handMs: number[];
  passes: number;
  calls: EngineCalls[];
}
const roomModels = [
  { label: 'linear OLS', kind: 'linear', doc: template('time_linear', timingSize, 'linear') },
  {
    label: 'linear AdaSSP (ε 1)',
    kind: 'linear',
    doc: template('time_linear', timingSize, 'linear', { epsilon: 1, delta: DELTA }),
  },
  { label: 'logistic IRLS', kind: 'logistic', doc: template('time_logistic', timingSize, 'logistic') },
  {
    label: 'logistic objective perturbation (ε 1)',
    kind: 'logistic',
    doc: template('time_logistic', timingSize, 'logistic', { epsilon: 1, delta: DELTA }),
  },
] as const;
/**
 * The same model as the room's, written by hand outside a room: features clipped to their declared
 * bounds (a CASE each), fitted on the training side of the same split, then one query of the held-out
 * metric (SSE for linear, the exact AUC for logistic). No checks, no audit, no rendering.
 */
const clippedTable = (size: string) =>
  `(SELECT person_id, ${LINEAR_LABEL.name}, ${LOGISTIC_LABEL.name}, ` +
  FEATURES.map(
    (f) =>
      `CASE WHEN ${f.name} < ${f.bounds[0]} THEN ${f.bounds[0]} WHEN ${f.name} > ${f.bounds[1]} ` +
      `THEN ${f.bounds[1]} ELSE ${f.name} END AS ${f.name}`,
  ).join(', ') +
  ` FROM demo.${datasetName(size)}) AS clipped`;
async function byHand(kind: 'linear' | 'logistic', doc: ModelTemplateDocument): Promise<number> {
  const t0 = performance.now();
  const label = kind === 'linear' ? LINEAR_LABEL.name : LOGISTIC_LABEL.name;
  const training = { ...rows(timingSize, label, side(doc, false)), table: clippedTable(timingSize) };
  const holdout = { ...training, where: side(doc, true) };
  if (kind === 'linear') {
    const { beta } = await rawLinear(engine, training);
    const yhat = [String(beta[0]), ...featureNames.map((f, j) => `${beta[j + 1]} * ${f}`)].join(' + ');
    await engine.query(
      `SELECT count(*), sum(power(${label} - (${yhat}), 2)) FROM ${holdout.table} WHERE ${holdout.where}`,
      {},
    );
  } else {
    const { beta } = await rawLogistic(engine, training);
    await rawAuc(engine, holdout, beta);
  }
  return performance.now() - t0;
}
const roomTimes = roomModels.map((): Timing => ({ ms: [], rawMs: [], handMs: [], passes: 0, calls: [] }));
const rawTimes = { linear: [] as RawFit[], logistic: [] as RawFit[] };
const rawWall = { linear: [] as number[], logistic: [] as number[] };
for (let run = 1; run <= runs; run += 1) {
  for (const [i, model] of roomModels.entries()) {
    await reload(datasetName(timingSize));
    const { card, ms, calls } = await train(model.doc);
    const timing = roomTimes[i] as Timing;
    timing.ms.push(ms);
    // Engine queries: the null check, the training passes, the holdout pass (a DP card states no pass count).
    timing.passes = calls.queries.length - 2;
    timing.calls.push(calls);
    const t0 = performance.now();
    const fit =
      model.kind === 'linear'
        ? await rawLinear(engine, rows(timingSize, LINEAR_LABEL.name))
        : await rawLogistic(engine, rows(timingSize, LOGISTIC_LABEL.name));
    const rawMs = performance.now() - t0;
    timing.rawMs.push(rawMs);
    timing.handMs.push(await byHand(model.kind, model.doc));
    rawWall[model.kind].push(rawMs);
    rawTimes[model.kind].push(fit);
    progress(
      `run ${run}: room ${model.label} ${seconds(ms)} s, ${timing.passes} passes, ${card.coefficients.length} β; ` +
        `raw ${seconds(rawMs)} s, ${fit.passes} passes`,
    );
  }
}
// The room's non-DP fits are the raw fits of the same training rows (a check that both sides fit the same model).
const [olsDoc, , irlsDoc] = roomModels.map((m) => m.doc) as [ModelTemplateDocument, unknown, ModelTemplateDocument];
const roomOls = (await train(olsDoc)).card.coefficients;
const rawOls = (await rawLinear(engine, rows(timingSize, LINEAR_LABEL.name, side(olsDoc, false)))).beta;
const roomIrls = (await train(irlsDoc)).card.coefficients;
const rawIrls = (await rawLogistic(engine, rows(timingSize, LOGISTIC_LABEL.name, side(irlsDoc, false)))).beta;
progress('checked the room against raw fits of the same training rows');

const n = sizeRows(timingSize).toLocaleString('en-US');
console.log(
  `1. training time at ${n} people, 8 features, median of ${runs}: the room's path (trainModel on a fresh table ` +
    `version each run) next to two fits without a room, each timed right after the room's run (load on this ` +
    'machine drifts; ratios are medians of those pairs). "raw": all rows, unclipped sums in one DuckDB query per ' +
    'pass, solved with ml-matrix, no holdout (for DP models the non-DP fit). "by hand": the same model as the ' +
    "room's, written by hand: features clipped to their declared bounds, the training side of the same split, " +
    'then one held-out metric query (SSE, or the exact AUC). "checked": the room on a version whose ' +
    'one-row-per-person check has run, as after an upload (the room starts it at the commit) or for every model ' +
    'after the first; the plain "room" column pays for the check inside the training',
);
console.log(
  table(
    [
      'model',
      'room s',
      'checked s',
      'raw s',
      'by hand s',
      'room/raw',
      'checked/raw',
      'room/by hand',
      'checked/by hand',
      'passes room/raw',
      'target <= 1.5x',
    ],
    roomModels.map((model, i) => {
      const timing = roomTimes[i] as Timing;
      const checked = timing.ms.map((ms, r) => ms - sum((timing.calls[r] as EngineCalls).uniqueness));
      const ratio = (room: readonly number[], base: readonly number[]) =>
        median(room.map((ms, r) => ms / (base[r] as number)));
      const ratios = {
        raw: ratio(timing.ms, timing.rawMs),
        checkedRaw: ratio(checked, timing.rawMs),
        hand: ratio(timing.ms, timing.handMs),
        checkedHand: ratio(checked, timing.handMs),
      };
      const verdict = (name: string, value: number) => `${name} ${value <= 1.5 ? 'ok' : 'over'}`;
      return [
        model.label,
        seconds(median(timing.ms)),
        seconds(median(checked)),
        seconds(median(timing.rawMs)),
        seconds(median(timing.handMs)),
        `${fixed(ratios.raw, 2)}x`,
        `${fixed(ratios.checkedRaw, 2)}x`,
        `${fixed(ratios.hand, 2)}x`,
        `${fixed(ratios.checkedHand, 2)}x`,
        `${timing.passes}/${(rawTimes[model.kind][0] as RawFit).passes}`,
        `${verdict('raw', ratios.checkedRaw)}, ${verdict('by hand', ratios.checkedHand)}`,
      ];
    }),
  ),
);
console.log(
  `check: room OLS vs raw OLS on the room's training rows: relative difference ` +
    `${relative(roomOls, rawOls).toExponential(1)}; room IRLS vs raw IRLS: ` +
    `${relative(roomIrls, rawIrls).toExponential(1)}\n`,
);

const phase = (calls: EngineCalls[], pick: (c: EngineCalls) => number) => median(calls.map(pick));
console.log(
  `where the time goes (medians of ${runs}, s): the room's engine calls in order (null check: rows without a ` +
    'person; uniqueness: distinct hashes of person_id, cached per table version; render: tree to SQL text in ' +
    'DuckDB; JS: the rest), and the raw fits (JS: the ml-matrix solves)',
);
console.log(
  table(
    ['model', 'null check', 'uniqueness', 'training passes', 'per pass', 'holdout pass', 'render SQL', 'JS', 'total'],
    [
      ...roomModels.map((model, i) => {
        const timing = roomTimes[i] as Timing;
        const training = (c: EngineCalls) => sum(c.queries.slice(1, -1));
        const engineMs = (c: EngineCalls) => sum(c.queries) + sum(c.uniqueness) + c.renderMs;
        const js = median(timing.calls.map((c, r) => (timing.ms[r] as number) - engineMs(c)));
        return [
          `room ${model.label}`,
          seconds(phase(timing.calls, (c) => c.queries[0] ?? 0)),
          seconds(phase(timing.calls, (c) => sum(c.uniqueness))),
          seconds(phase(timing.calls, training)),
          seconds(phase(timing.calls, (c) => training(c) / Math.max(1, c.queries.length - 2))),
          seconds(phase(timing.calls, (c) => c.queries.at(-1) ?? 0)),
          seconds(phase(timing.calls, (c) => c.renderMs)),
          seconds(js),
          seconds(median(timing.ms)),
        ];
      }),
      ...(['linear', 'logistic'] as const).map((kind) => [
        `raw ${kind}`,
        '-',
        '-',
        seconds(median(rawTimes[kind].map((f) => f.queryMs))),
        seconds(median(rawTimes[kind].map((f) => f.queryMs / f.passes))),
        '-',
        '-',
        seconds(median(rawTimes[kind].map((f) => f.solveMs))),
        seconds(median(rawWall[kind])),
      ]),
    ],
  ),
);
console.log('');

// 2. AdaSSP's accuracy by n and ε: the room splits a dataset once, so each seed has the same rows and new noise.
const published: Record<string, string> = { '100000/1': '~1%', '1000000/1': '~0.1%' };
async function accuracyRows(spread: Spread, at: readonly string[]): Promise<string[][]> {
  const betaTrue = trueBeta('linear', spread);
  const accuracy: string[][] = [];
  for (const size of at) {
    const training = rows(
      size,
      LINEAR_LABEL.name,
      side(template('accuracy', size, 'linear', undefined, spread), false),
    );
    const ols = (await rawLinear(engine, { ...training, table: `demo.${datasetName(size, spread)}` })).beta;
    for (const epsilon of epsilons) {
      const errors = { ols: [] as number[], slopes: [] as number[], truth: [] as number[] };
      for (let seed = 1; seed <= seeds; seed += 1) {
        const dp = { epsilon, delta: DELTA };
        const { card } = await train(template(`accuracy_${seed}`, size, 'linear', dp, spread));
        errors.ols.push(relative(card.coefficients, ols));
        errors.slopes.push(relative(slopesPerWidth(card.coefficients), slopesPerWidth(ols)));
        errors.truth.push(relative(card.coefficients, betaTrue));
      }
      progress(`AdaSSP ${spread} ${size} ε ${epsilon}: ${percent(median(errors.ols))}`);
      accuracy.push([
        sizeRows(size).toLocaleString('en-US'),
        String(epsilon),
        percent(median(errors.ols)),
        percent(median(errors.slopes)),
        percent(median(errors.truth)),
        percent(relative(ols, betaTrue)),
        published[`${sizeRows(size)}/${epsilon}`] ?? '-',
      ]);
    }
  }
  return accuracy;
}
const accuracyHeader = [
  'people',
  'ε',
  'DP vs OLS',
  'DP vs OLS, slopes',
  'DP vs true β',
  'OLS vs true β',
  'published AdaSSP',
];
const accuracy = await accuracyRows('normal', sizes);
console.log(
  `2. DP linear regression (AdaSSP, δ ${DELTA.toExponential()}): relative error ‖β_dp − β‖/‖β‖, median of ` +
    `${seeds} seeds (new noise each; the room holds out the same people for every model of a dataset); ` +
    'β_ols = OLS on the same training rows (82% of n)',
);
console.log(table(accuracyHeader, accuracy));
console.log(
  "errors of the card's coefficients (intercept included, in the features' own units); 'slopes': the slopes " +
    'only, each times its declared width (unit-free). The room trains features rescaled to [-1, 1] and the ' +
    'label centred on its bounds (with [0, 1] and no centring: 21.9% at 100k/ε 1, 2.53% at 1M/ε 1)\n',
);
if (uniformSizes.length > 0) {
  const uniform = await accuracyRows('uniform', uniformSizes);
  console.log(
    `2b. the same, on people spread uniformly over the declared bounds (the features' sd 1.7x the design's ` +
      'above, as in data normalised to its own range, the setting of published figures); design: ' +
      `${describeDesign('uniform')}`,
  );
  console.log(table(accuracyHeader, uniform));
  console.log(
    'the mechanism and its noise are the same; the error falls with how much of its bounds the data fills ' +
      "(X'X grows with the spread, the noise does not): an officer who declares tight bounds buys accuracy\n",
  );
}

// 3. Held-out AUC of DP logistic regression next to the non-private fit of the same training rows.
const auc: string[][] = [];
for (const size of aucSizes) {
  const plainDoc = template('auc_plain', size, 'logistic');
  const plain = (await train(plainDoc)).card;
  const irls = (await rawLogistic(engine, rows(size, LOGISTIC_LABEL.name, side(plainDoc, false)))).beta;
  const holdout = rows(size, LOGISTIC_LABEL.name, side(plainDoc, true));
  const irlsAuc = await rawAuc(engine, holdout, irls);
  const cells = { card: [] as number[], exact: [] as number[], distance: [] as number[] };
  for (let seed = 1; seed <= seeds; seed += 1) {
    const { card } = await train(template(`auc_${seed}`, size, 'logistic', { epsilon: 1, delta: DELTA }));
    cells.card.push(card.metrics.auc ?? Number.NaN);
    cells.exact.push(await rawAuc(engine, holdout, card.coefficients));
    cells.distance.push(relative(card.coefficients, irls));
    progress(`AUC ${size} seed ${seed}: DP ${fixed(cells.exact.at(-1) ?? Number.NaN, 4)}`);
  }
  auc.push([
    sizeRows(size).toLocaleString('en-US'),
    fixed(plain.metrics.auc ?? Number.NaN, 4),
    fixed(median(cells.card), 4),
    fixed(median(cells.exact), 4),
    fixed(irlsAuc, 4),
    fixed(median(cells.exact) - irlsAuc, 5).replace(/^-(0\.0+)$/, '$1'),
    fixed(await rawAuc(engine, holdout, trueBeta('logistic')), 4),
    percent(median(cells.distance)),
  ]);
}
console.log(
  `3. held-out AUC, logistic regression, DP by objective perturbation at ε 1 (δ ${DELTA.toExponential()} for the ` +
    `AUC's noise), median of ${seeds} seeds; the holdout is 18% of n`,
);
console.log(
  table(
    [
      'people',
      'non-DP card AUC',
      'DP card AUC (noisy)',
      'DP β exact AUC',
      'IRLS β exact AUC',
      'DP − IRLS',
      'true β AUC',
      '‖β_dp − β_irls‖/‖β_irls‖',
    ],
    auc,
  ),
);
console.log(
  "non-DP card AUC: the non-DP model's card; the exact AUCs are recomputed here on the same holdout (the room " +
    'splits a dataset once), IRLS β fitted plainly on the same training rows',
);
const load = loadavg()
  .map((l) => l.toFixed(2))
  .join(' ');
console.log(`\nload average at end ${load}; ${fixed((performance.now() - started) / 1000, 0)} s in all`);
await t.close();
process.exit(0);
