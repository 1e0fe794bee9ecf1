// Executors benchmark (issue #15, item 7): the four demo templates, checked and rewritten as the room
// plans them, run on the embedded DuckDB (the tree rendered by DuckDB) and on ClickHouse (chdb behind
// the loopback test endpoint, through @clickhouse/client, the tree written by the emitter) over the same
// tables, in one run, with the ratio and a check that both released the same rows.
// npm run bench:executors -- [--fixtures fixtures/large/1m] [--runs 3]
// (fixtures: npm run fixtures -- --rows 1000000 --out fixtures/large/1m; the issue's size is 10m)
import { readdir, readFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ClickHouseLogLevel, createClient } from '@clickhouse/client';
import { DuckDBInstance } from '@duckdb/node-api';
import { clickHouseType } from '../src/executor/clickhouse-emitter.ts';
import type { SerializedSql } from '../src/query/sql-tree.ts';
import { bindParameters, parameterTypes, parseTemplateFile } from '../src/query/template.ts';
import { toDuckDbParameters } from '../src/store/bound-parameters.ts';
import { DATASETS } from '../test/query/generated/query-grammar.ts';
import { openPlanner } from '../test/query/support-planner.ts';
import { answerOnClickHouse, rowMultiset, startChdbEndpoint } from '../test/support/chdb-endpoint.ts';
import { startTestRoom, uploadDemoDataset } from '../test/support/test-room.ts';
import { ENGINE_THREADS } from './support/bench-room.ts';
import { fixed, median, table } from './support/measure.ts';

const { values } = parseArgs({
  options: {
    fixtures: { type: 'string', default: 'fixtures/large/1m' },
    runs: { type: 'string', default: '3' },
  },
});
const runs = Number(values.runs);
const directory = resolve(values.fixtures);
/** Parameters for each demo template: a busy campaign and the whole allowed date range (as bench:query). */
const PARAMS: Record<string, Record<string, unknown>> = {
  audience_overlap_by_segment: { campaign: 'spring_sale' },
  reach_and_frequency: { from: '2025-01-01', to: '2026-12-31' },
  conversion_lift: { campaign: 'spring_sale' },
  purchase_value_by_segment: {},
};
const say = (text: string) => void process.stderr.write(`  ${text}\n`);

/** A room sized for the large fixtures, with the demo policy active: embedded, or on ClickHouse at `url`. */
async function uploadRoom(url?: string) {
  const room = await startTestRoom({
    config: {
      maxUploadBytes: 20 * 1024 ** 3,
      engine: { memoryLimit: '16GB', threads: ENGINE_THREADS, statementTimeoutMs: 600_000 },
      ...(url ? { executor: { kind: 'clickhouse', url, database: 'cleanroom_bench' } } : {}),
    },
  });
  await room.acceptAll();
  return room;
}

console.log(
  `executors bench ${new Date().toISOString()}: node ${process.version}, ${cpus().length} cores, DuckDB threads ` +
    `${ENGINE_THREADS}, load average at start ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}; fixtures ${values.fixtures}`,
);
const planner = await openPlanner();
const endpoint = await startChdbEndpoint();
const clickhouse = createClient({
  url: endpoint.url,
  request_timeout: 600_000,
  log: { level: ClickHouseLogLevel.OFF },
});
const duck = await (await DuckDBInstance.create(':memory:', { threads: String(ENGINE_THREADS) })).connect();
try {
  await duck.run('CREATE SCHEMA demo');
  await clickhouse.command({ query: 'CREATE DATABASE demo' });
  const loads: string[][] = [];
  for (const { table: name, columns } of Object.values(DATASETS)) {
    const file = `${directory}/${name}.csv`;
    const csvColumns = columns.map((c) => `'${c.name}': '${c.type}'`).join(', ');
    let t0 = performance.now();
    await duck.run(`CREATE TABLE demo.${name} (${columns.map((c) => `${c.name} ${c.type}`).join(', ')})`);
    await duck.run(`INSERT INTO demo.${name} SELECT * FROM read_csv('${file}', columns = {${csvColumns}})`);
    const duckSeconds = (performance.now() - t0) / 1000;
    const schema = columns.map((c) => `\`${c.name}\` Nullable(${clickHouseType(c.type)})`).join(', ');
    t0 = performance.now();
    await clickhouse.command({
      query: `CREATE TABLE demo.${name} (${schema}) ENGINE = MergeTree ORDER BY tuple()`,
    });
    await clickhouse.command({
      query: `INSERT INTO demo.${name} SELECT * FROM file('${file}', 'CSVWithNames', '${schema.replace(/`/g, '')}')`,
    });
    const chSeconds = (performance.now() - t0) / 1000;
    const rows = (await duck.runAndReadAll(`SELECT count(*) FROM demo.${name}`)).getRowsJson()[0]?.[0];
    loads.push([name, String(rows), fixed(duckSeconds, 2), fixed(chSeconds, 2)]);
  }
  console.log('\nloading each table from its CSV (s)');
  console.log(table(['table', 'rows', 'DuckDB', 'ClickHouse (chdb)'], loads));

  const results: string[][] = [];
  for (const file of (await readdir('sql')).filter((f) => f.endsWith('.sql')).sort()) {
    const doc = parseTemplateFile(await readFile(`sql/${file}`, 'utf8'), file);
    const { plan, sql } = await planner.plan(doc.sql, false, { parameterTypes: parameterTypes(doc) });
    if (!plan.ok || !sql) throw new Error(`${doc.name} did not plan: ${JSON.stringify(plan)}`);
    const tree = (JSON.parse(await planner.engine.serialize(sql)) as SerializedSql).statements?.[0]?.node;
    if (!tree) throw new Error(`${doc.name}: no tree`);
    const bound = bindParameters(doc, PARAMS[doc.name] ?? {});
    const { values: duckValues, types } = toDuckDbParameters(bound);
    const times = { duck: [] as number[], clickhouse: [] as number[] };
    let duckRows: unknown[][] = [];
    let chRows: unknown[][] = [];
    for (let run = 0; run < runs; run += 1) {
      // Alternating, so neither engine always runs on a warmer machine.
      let t0 = performance.now();
      duckRows = (await duck.runAndReadAll(sql, duckValues, types)).getRowsJson() as unknown[][];
      times.duck.push(performance.now() - t0);
      t0 = performance.now();
      chRows = await answerOnClickHouse(clickhouse, tree, bound);
      times.clickhouse.push(performance.now() - t0);
      const [dt, ct] = [times.duck.at(-1) ?? 0, times.clickhouse.at(-1) ?? 0].map((ms) => fixed(ms / 1000, 3));
      say(`${doc.name} run ${run + 1}: DuckDB ${dt} s, ClickHouse ${ct} s`);
    }
    // Doubles to 10 significant digits: sums of 10M doubles added up in another order.
    const key = (rows: unknown[][]) => JSON.stringify(rowMultiset(rows, 10));
    const [d, c] = [median(times.duck) / 1000, median(times.clickhouse) / 1000];
    results.push([
      doc.name,
      fixed(d, 3),
      fixed(c, 3),
      `${fixed(c / d, 2)}x`,
      String(duckRows.length),
      key(duckRows) === key(chRows) ? 'yes' : 'NO',
    ]);
  }
  console.log(`\nthe demo templates, checked and rewritten (threshold mode), median of ${runs} alternating runs (s)`);
  console.log(table(['template', 'DuckDB', 'ClickHouse (chdb)', 'ClickHouse/DuckDB', 'rows', 'same rows'], results));
  // Uploads through a room: the embedded room loads each version; the ClickHouse room also copies it
  // (Parquet through the RAM-backed staging) before the commit. Both rooms on the same machine and endpoint.
  const uploads: string[][] = [];
  const rooms = { embedded: await uploadRoom(), clickhouse: await uploadRoom(endpoint.url) };
  try {
    for (const { table: dataset } of Object.values(DATASETS)) {
      const seconds: number[] = [];
      let rows = 0;
      for (const room of [rooms.embedded, rooms.clickhouse]) {
        const t0 = performance.now();
        rows = (await uploadDemoDataset(room, dataset, `${directory}/${dataset}.csv`)).rows;
        seconds.push((performance.now() - t0) / 1000);
        say(`uploaded ${dataset} to the ${room === rooms.embedded ? 'embedded' : 'ClickHouse'} room`);
      }
      const [e = 0, c = 0] = seconds;
      uploads.push([dataset, String(rows), fixed(e, 2), fixed(c, 2), `${fixed(c / e, 2)}x`]);
    }
  } finally {
    await rooms.embedded.close();
    await rooms.clickhouse.close();
  }
  console.log('\nuploads through the room, client encrypt to commit (s): the ClickHouse room also copies each version');
  console.log(table(['dataset', 'rows', 'embedded room', 'ClickHouse room', 'ratio'], uploads));
  console.log(
    `\nload average at end ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
} finally {
  await clickhouse.close();
  await endpoint.close();
  await planner.close();
}
