// bench/dp: accuracy and cost of DP queries on the 1M-customer fixture (4M impressions).
// For epsilon 0.1, 1 and 10: median relative error of DP counts and sums per group against the
// exact values, next to the theoretical median error of the same mechanism (Laplace: b·ln 2),
// and each DP query's time over the same query in threshold mode, measured side by side in the same
// run: one row per person (customers), many rows per person (impressions: contribution bounding
// has work to do), and a join of the two on the privacy units.
// Run: npm run fixtures -- --rows 1000000 --out fixtures/large/1m && npm run bench:dp
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { uploadFile } from '../src/client/upload-file.ts';
import { startTestRoom } from '../test/support/test-room.ts';

const directory = resolve(process.argv[2] ?? 'fixtures/large/1m');
const file = resolve(directory, 'advertiser_customers.csv');
const impressions = resolve(directory, 'publisher_impressions.csv');
if (!existsSync(file) || !existsSync(impressions)) {
  console.error(`${directory} is missing: npm run fixtures -- --rows 1000000 --out fixtures/large/1m`);
  process.exit(1);
}
const RUNS = 7;
const SQL = 'SELECT age_band, count(*) AS n, sum(purchase_value) AS v FROM advertiser_customers GROUP BY age_band';

interface Answer {
  rows: (string | number)[][];
  privacy: { noise?: Record<string, { scale: number }> };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

const t = await startTestRoom({
  edit: (p) => {
    for (const dataset of p.datasets) {
      const dp = dataset.rules.dp!;
      dp.budget.epsilon = 1000;
      dp.budget.delta = 0.009;
      dp.maxEpsilonPerQuery = 10;
    }
  },
  config: { maxUploadBytes: 20 * 1024 ** 3, engine: { memoryLimit: '8GB', threads: 2, statementTimeoutMs: 600_000 } },
});
try {
  await t.acceptAll();
  const started = performance.now();
  const receipt = await uploadFile({
    client: t.client('acme-provider'),
    key: t.keys['acme-provider']!,
    collaboration: 'demo',
    dataset: 'advertiser_customers',
    file,
  });
  const receipt2 = await uploadFile({
    client: t.client('northwind-provider'),
    key: t.keys['northwind-provider']!,
    collaboration: 'demo',
    dataset: 'publisher_impressions',
    file: impressions,
  });
  console.log(
    `loaded ${receipt.rows.toLocaleString('en')} customers and ${receipt2.rows.toLocaleString('en')} impressions ` +
      `in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
  const ask = (body: object) => t.client('acme-analyst').send<Answer>('POST', '/v1/collaborations/demo/queries', body);

  const exact = await ask({ sql: SQL });
  const truth = new Map(exact.rows.map((r) => [String(r[0]), { n: Number(r[1]), v: Number(r[2]) }]));

  console.log(
    `\nmedian relative error per group (${RUNS} runs x ${truth.size} groups; Laplace, maxGroupsPerUnit 4, ` +
      `maxRowsPerUnit 1, purchase_value clamped to [0, 2000])`,
  );
  console.log('epsilon  statistic  measured   theoretical (b·ln2 / exact)');
  for (const epsilon of [0.1, 1, 10]) {
    const errors = { n: [] as number[], v: [] as number[] };
    const theory = { n: [] as number[], v: [] as number[] };
    for (let run = 0; run < RUNS; run++) {
      const answer = await ask({ sql: SQL, dp: { epsilon } });
      for (const row of answer.rows) {
        const exactRow = truth.get(String(row[0]));
        if (!exactRow) continue;
        errors.n.push(Math.abs(Number(row[1]) - exactRow.n) / exactRow.n);
        errors.v.push(Math.abs(Number(row[2]) - exactRow.v) / exactRow.v);
        theory.n.push(((answer.privacy.noise?.n?.scale ?? 0) * Math.LN2) / exactRow.n);
        theory.v.push(((answer.privacy.noise?.v?.scale ?? 0) * Math.LN2) / exactRow.v);
      }
    }
    for (const stat of ['n', 'v'] as const) {
      const kind = stat === 'n' ? 'count' : 'sum';
      const measured = median(errors[stat]).toExponential(2);
      const theoretical = median(theory[stat]).toExponential(2);
      console.log(`${String(epsilon).padEnd(8)} ${kind.padEnd(10)} ${measured.padEnd(10)} ${theoretical}`);
    }
  }
  console.log('(sum error also includes clamping bias: purchase values above 2000 are cut to 2000)');

  const time = async (body: object) => {
    const samples: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const s = performance.now();
      await ask(body);
      samples.push(performance.now() - s);
    }
    return median(samples);
  };
  const costs = [
    ['one row per person (customers by age band)', SQL],
    [
      'many rows per person (impressions by campaign)',
      'SELECT campaign, count(*) AS n, sum(view_seconds) AS v FROM publisher_impressions GROUP BY campaign',
    ],
    [
      'many rows per person, many groups (impressions by campaign, device)',
      'SELECT campaign, device, count(*) AS n, avg(view_seconds) AS v FROM publisher_impressions ' +
        'GROUP BY campaign, device',
    ],
    [
      'join on the units (customers x impressions by device)',
      'SELECT p.device, count(DISTINCT c.email_hash) AS people, avg(c.purchase_value) AS v FROM advertiser_customers ' +
        'AS c JOIN publisher_impressions AS p ON c.email_hash = p.email_hash GROUP BY p.device',
    ],
  ] as const;
  console.log(`\nquery time, median of ${RUNS}, HTTP end to end (threshold vs the same query in DP mode at ε 1)`);
  console.log(`${'query'.padEnd(72)} ${'threshold'.padStart(10)} ${'DP'.padStart(10)}  DP/threshold`);
  for (const [label, sql] of costs) {
    const plain = await time({ sql });
    const dp = await time({ sql, dp: { epsilon: 1 } });
    const plainMs = `${plain.toFixed(1)} ms`;
    const dpMs = `${dp.toFixed(1)} ms`;
    console.log(`${label.padEnd(72)} ${plainMs.padStart(10)} ${dpMs.padStart(10)}  ${(dp / plain).toFixed(2)}x`);
  }
} finally {
  await t.close();
}
