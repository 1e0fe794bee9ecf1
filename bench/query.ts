// Query benchmark: the four demo templates checked + rewritten + thresholded vs the same SQL raw on DuckDB.
// npm run bench:query -- [--sizes 1m,10m] [--runs 3] [--plan-runs 200] [--load pipe|upload]
import { existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import type { PrincipalKey } from '../src/keys/principal-key-file.ts';
import { planQuery } from '../src/query/query-plan.ts';
import type { SerializedSql } from '../src/query/sql-tree.ts';
import { bindParameters } from '../src/query/template.ts';
import { planThroughParser } from '../src/release/plan-query.ts';
import type { ResultTable } from '../src/store/result-values.ts';
import { uploadDemoDataset, type TestRoom } from '../test/support/test-room.ts';
import { ENGINE_THREADS, approveAllTemplates, startBenchRoom } from './support/bench-room.ts';
import { loadThroughPipe } from './support/load-tables.ts';
import { GiB, fixed, median, mib, table } from './support/measure.ts';

const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '1m,10m' },
    runs: { type: 'string', default: '3' },
    'plan-runs': { type: 'string', default: '200' },
    load: { type: 'string', default: 'pipe' },
  },
});
const sizes = values.sizes
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean);
const runs = Number(values.runs);
const planRuns = Number(values['plan-runs']);
const DATASETS = ['advertiser_customers', 'publisher_impressions'] as const;

/** Parameters for each demo template: a busy campaign and the whole allowed date range. */
const PARAMS: Record<string, Record<string, unknown>> = {
  audience_overlap_by_segment: { campaign: 'spring_sale' },
  reach_and_frequency: { from: '2025-01-01', to: '2026-12-31' },
  conversion_lift: { campaign: 'spring_sale' },
  purchase_value_by_segment: {},
};

const say = (text = ''): void => console.log(text);
const progress = (text: string): void => void process.stderr.write(`  ${text}\n`);

/** The template's own SQL against the room's tables, schema-qualified, nothing checked or added. */
const qualified = (sql: string): string =>
  sql.replace(/(?<![.\w"])(advertiser_customers|publisher_impressions)\b/g, 'demo.$1');

const percentile = (values: readonly number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] as number;
};

async function planTimings(t: TestRoom): Promise<string[][]> {
  const collaboration = t.room.collaboration('demo');
  const rows: string[][] = [];
  for (const name of Object.keys(PARAMS)) {
    const sql = (await t.room.templateStatus(collaboration, name)).document.sql;
    const serialized = JSON.parse(await t.internals.engine.serialize(sql)) as SerializedSql;
    const pure: number[] = [];
    const full: number[] = [];
    const status: number[] = [];
    for (let i = 0; i < planRuns; i++) {
      // planQuery freezes the parsed tree it is given, so each run gets a fresh copy, made outside the timing.
      const copy = structuredClone(serialized);
      const t0 = performance.now();
      const plan = planQuery(collaboration, sql, copy, { adHoc: false });
      pure.push(performance.now() - t0);
      if (!plan.ok) throw new Error(`${name} was refused: ${plan.diagnostics.map((d) => d.code).join(', ')}`);
    }
    for (let i = 0; i < planRuns; i++) {
      const t0 = performance.now();
      const ctx = t.internals.release;
      const planned = await planThroughParser(ctx, collaboration, sql, { adHoc: false, mode: 'threshold' });
      await ctx.parser.render(planned.tree, planned.parsed);
      full.push(performance.now() - t0);
    }
    for (let i = 0; i < planRuns; i++) {
      const t0 = performance.now();
      await t.room.templateStatus(collaboration, name);
      status.push(performance.now() - t0);
    }
    rows.push([
      name,
      fixed(median(pure), 3),
      fixed(percentile(pure, 0.95), 3),
      fixed(median(full), 2),
      fixed(percentile(full, 0.95), 2),
      fixed(median(status), 2),
    ]);
  }
  return rows;
}

interface QueryTimes {
  raw: number[];
  rewritten: number[];
  inProcess: number[];
  http: number[];
  rawRows: number;
  released: number;
  suppressed: number;
}

async function queryTimings(t: TestRoom, name: string): Promise<QueryTimes> {
  const collaboration = t.room.collaboration('demo');
  const analystKey = t.keys['acme-analyst'] as PrincipalKey;
  const analyst = t.room.principal('demo', analystKey.publicKeyText);
  const client = t.client('acme-analyst');
  const status = await t.room.templateStatus(collaboration, name);
  if (!status.runnable) throw new Error(`Template ${name} is not approved.`);
  const params = PARAMS[name] ?? {};
  const bound = bindParameters(status.document, params);
  const rewrittenSql = status.rewrittenSql;
  say(`rewritten ${name}: ${rewrittenSql.replace(/\s+/g, ' ')}`);
  const out: QueryTimes = { raw: [], rewritten: [], inProcess: [], http: [], rawRows: 0, released: 0, suppressed: 0 };
  const time = async <T>(into: number[], run: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    const value = await run();
    into.push(performance.now() - t0);
    return value;
  };
  const variants: (() => Promise<void>)[] = [
    async () => {
      const raw: ResultTable = await time(out.raw, () =>
        t.internals.engine.query(qualified(status.document.sql), bound),
      );
      out.rawRows = raw.rows.length;
    },
    async () => void (await time(out.rewritten, () => t.internals.engine.query(rewrittenSql, bound))),
    async () => {
      const answer = await time(out.inProcess, () =>
        t.room.runQuery(collaboration, analyst, { template: name, params }),
      );
      if (answer.dryRun === false && 'groupsSuppressed' in answer.privacy) {
        out.released = answer.rows.length;
        out.suppressed = answer.privacy.groupsSuppressed;
      }
    },
    async () =>
      void (await time(out.http, () =>
        client.send('POST', '/v1/collaborations/demo/queries', { template: name, params }),
      )),
  ];
  await t.internals.engine.query(qualified(status.document.sql), bound); // warm-up, untimed
  const last = (samples: number[]) => fixed(samples.at(-1) ?? NaN, 0);
  for (let i = 0; i < runs; i++) {
    // The order rotates run by run so no variant always follows the same one.
    for (let k = 0; k < variants.length; k++) await (variants[(i + k) % variants.length] as () => Promise<void>)();
    progress(
      `${name} run ${i + 1}/${runs}: raw ${last(out.raw)} ms, rewritten ${last(out.rewritten)} ms, ` +
        `runQuery ${last(out.inProcess)} ms, HTTP ${last(out.http)} ms`,
    );
  }
  return out;
}

async function benchSize(size: string): Promise<{
  size: string;
  ratios: Map<string, { inProcess: number; http: number }>;
  planMax: { pure: number; full: number };
}> {
  const files = DATASETS.map((d) => `fixtures/large/${size}/${d}.csv`);
  for (const f of files) if (!existsSync(f)) throw new Error(`${f} is missing; generate it with npm run fixtures.`);
  const t = await startBenchRoom();
  try {
    say(`== ${size} ==`);
    for (const dataset of DATASETS) {
      const file = `fixtures/large/${size}/${dataset}.csv`;
      const t0 = performance.now();
      const rows =
        values.load === 'upload'
          ? (await uploadDemoDataset(t, dataset, file)).rows
          : await loadThroughPipe(t, dataset, file);
      const how =
        values.load === 'upload' ? 'encrypted upload' : 'named pipe → loadIncoming → commitIncoming, no encryption';
      const seconds = fixed((performance.now() - t0) / 1000, 1);
      say(`loaded ${dataset}: ${rows.toLocaleString('en-US')} rows in ${seconds} s (${how})`);
    }
    const memory = await t.internals.engine.query('SELECT sum(memory_usage_bytes)::DOUBLE FROM duckdb_memory()');
    const duckdbBytes = Number(memory.rows[0]?.[0] ?? NaN);
    say(
      `process RSS after load ${fixed(process.memoryUsage().rss / GiB, 2)} GiB; ` +
        `DuckDB memory in use ${fixed(duckdbBytes / GiB, 2)} GiB`,
    );
    await approveAllTemplates(t);

    say();
    say(
      `(a) check + rewrite, ${planRuns} runs per template, ms (planQuery on a pre-serialized tree; planAndRender ` +
        `adds DuckDB json_serialize_sql + JSON.parse + json_deserialize_sql; templateStatus is what runQuery ` +
        `calls first, and it plans too)`,
    );
    const planRows = await planTimings(t);
    say(table(['template', 'planQuery med', 'p95', 'planAndRender med', 'p95', 'templateStatus med'], planRows));

    say();
    say(
      `(b) end to end, ${runs} runs each (median ms, runs listed); raw = the template SQL, schema-qualified, ` +
        `bound parameters, on t.internals.engine.query; rewritten = the checked+rewritten SQL on the same call; ` +
        `runQuery = in process (check, rewrite, run, threshold, audit); HTTP = signed POST /queries over loopback`,
    );
    const ratios = new Map<string, { inProcess: number; http: number }>();
    const rows: string[][] = [];
    for (const name of Object.keys(PARAMS)) {
      const q = await queryTimings(t, name);
      const raw = median(q.raw);
      const r = { inProcess: median(q.inProcess) / raw, http: median(q.http) / raw };
      ratios.set(name, r);
      rows.push([
        name,
        fixed(raw, 0),
        fixed(median(q.rewritten), 0),
        fixed(median(q.inProcess), 0),
        fixed(median(q.http), 0),
        fixed(median(q.rewritten) / raw, 2),
        fixed(r.inProcess, 2),
        fixed(r.http, 2),
        `${q.rawRows}/${q.released}/${q.suppressed}`,
      ]);
      rows.push([
        `  runs`,
        q.raw.map((x) => fixed(x, 0)).join('/'),
        q.rewritten.map((x) => fixed(x, 0)).join('/'),
        q.inProcess.map((x) => fixed(x, 0)).join('/'),
        q.http.map((x) => fixed(x, 0)).join('/'),
        '',
        '',
        '',
        '',
      ]);
    }
    say(
      table(
        [
          'template',
          'raw',
          'rewritten',
          'runQuery',
          'HTTP',
          'rewr/raw',
          'runQuery/raw',
          'HTTP/raw',
          'rows raw/released/suppressed',
        ],
        rows,
      ),
    );
    say(`peak-ish RSS now ${mib(process.memoryUsage().rss)} MiB`);
    say();
    const planMax = {
      pure: Math.max(...planRows.map((r) => Number(r[1]))),
      full: Math.max(...planRows.map((r) => Number(r[3]))),
    };
    return { size, ratios, planMax };
  } finally {
    await t.close();
  }
}

const loadAverage = loadavg()
  .map((l) => l.toFixed(2))
  .join(' ');
say(
  `query bench ${new Date().toISOString()}: node ${process.version}, DuckDB threads ${ENGINE_THREADS}, ` +
    `memory_limit 16GB, load average at start ${loadAverage}`,
);
say(`params: ${JSON.stringify(PARAMS)}`);
say();
const results = [];
for (const size of sizes) results.push(await benchSize(size));
for (const r of results) {
  const planTarget = r.planMax.full < 5 ? 'met' : r.planMax.pure < 5 ? 'met for planQuery only' : 'NOT met';
  say(
    `query ${r.size}: check+rewrite max median ${fixed(r.planMax.pure, 3)} ms pure, ${fixed(r.planMax.full, 2)} ` +
      `ms with DuckDB (de)serialize (target < 5 ms: ${planTarget})`,
  );
  for (const [name, ratio] of r.ratios) {
    say(
      `query ${r.size} ${name}: runQuery/raw ${fixed(ratio.inProcess, 2)}, HTTP/raw ${fixed(ratio.http, 2)} ` +
        `(target ≤ 1.30: ${ratio.http <= 1.3 ? 'met' : ratio.inProcess <= 1.3 ? 'met in process only' : 'NOT met'})`,
    );
  }
}
