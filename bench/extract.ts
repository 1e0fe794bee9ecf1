// Extract search benchmark (issue #10): Flash-style search vs an exhaustive scan of every node, in one run,
// on the customers table: 4 quasi-identifiers x 5 levels (625 nodes), k = 5, 10, 50, suppression <= 5%.
// npm run bench:extract -- [--size 1m] [--ks 5,10,50] [--max-suppression 0.05]
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { levelExpressions } from '../src/extract/generalisation.ts';
import { decomposedLoss, nonUniformEntropyByLevel, type AttributeDomain } from '../src/extract/information-loss.ts';
import { Lattice, type LevelVector } from '../src/extract/lattice.ts';
import { exhaustiveSearch, flashSearch, type SearchResult } from '../src/extract/lattice-search.ts';
import { nodeCheckTree, topLevels, type QuasiIdentifier } from '../src/extract/node-check.ts';
import type { ColumnDocument, Hierarchy } from '../src/policy/policy-document.ts';
import { aggregateCall, columnRef, selectNode, tableRef, type SqlNode } from '../src/query/sql-tree.ts';
import { DEMO_EXTRACT } from '../src/cli/demo/demo-extract.ts';
import { openExtract } from '../src/client/extract-file.ts';
import { fromBase64, toBase64 } from '../src/crypto/bytes.ts';
import { sign } from '../src/crypto/signatures.ts';
import { approvalSigningBytes } from '../src/query/template.ts';
import type { ExtractAnswer } from '../src/room/extracts.ts';
import { ENGINE_THREADS, startBenchRoom } from './support/bench-room.ts';
import { uploadDemoDataset } from '../test/support/test-room.ts';
import { fixed, table } from './support/measure.ts';

const { values } = parseArgs({
  options: {
    size: { type: 'string', default: '1m' },
    ks: { type: 'string', default: '5,10,50' },
    'max-suppression': { type: 'string', default: '0.05' },
  },
});
const ks = values.ks.split(',').map(Number);
const maxSuppression = Number(values['max-suppression']);
const progress = (text: string): void => void process.stderr.write(`  ${text}\n`);

const column = (name: string, type: ColumnDocument['type']): ColumnDocument => ({ name, type, class: 'quasi' });
const qi = (name: string, type: ColumnDocument['type'], hierarchy: Hierarchy): QuasiIdentifier => ({
  column: column(name, type),
  hierarchy,
  ref: columnRef(['c', name]),
});
/** Each with 5 levels: as stored, three of the owner's, and *. */
const QUASI: QuasiIdentifier[] = [
  qi('birth_year', 'INTEGER', { bands: [5, 10, 20] }),
  qi('zip_code', 'VARCHAR', { prefix: [3, 2, 1] }),
  qi('signup_date', 'DATE', { dateTrunc: ['month', 'quarter', 'year'] }),
  qi('country', 'VARCHAR', {
    groups: [
      { DE: 'DACH', AT: 'DACH', CH: 'DACH', FR: 'FR', NL: 'Benelux', BE: 'Benelux', GB: 'GB', IE: 'IE', ES: 'ES' },
      {
        DE: 'central',
        AT: 'central',
        CH: 'central',
        FR: 'west',
        NL: 'west',
        BE: 'west',
        GB: 'isles',
        IE: 'isles',
        ES: 'south',
      },
      { DE: 'EU', AT: 'EU', CH: 'EEA', FR: 'EU', NL: 'EU', BE: 'EU', GB: 'EEA', IE: 'EU', ES: 'EU' },
    ],
  }),
];

const t = await startBenchRoom();
const file = `fixtures/large/${values.size}/advertiser_customers.csv`;
// Uploaded as a provider does (sealed, streamed, verified, loaded): the extract path needs a recorded version.
const { rows } = await uploadDemoDataset(t, 'advertiser_customers', file);
const engine = t.internals.engine;
const parser = t.internals.release.parser;
const from: SqlNode = tableRef('advertiser_customers', 'c');
const fromQualified: SqlNode = { ...from, schema_name: 'demo' };
const run = async (tree: SqlNode) => {
  const sql = await parser.render(tree);
  return (await engine.query(sql)).rows;
};

// Information loss once per attribute and level: people per stored value, with its level values.
const byLevel: number[][] = [];
for (const q of QUASI) {
  const levels = levelExpressions(q.column, q.hierarchy, q.ref);
  const histogram = await run(
    selectNode({
      select: [...levels.map((l, i) => ({ ...l, alias: `l${i}` })), aggregateCall('count_star', [], { alias: 'n' })],
      from: fromQualified,
      groups: [q.ref],
    }),
  );
  const domain: AttributeDomain = {
    values: histogram.map((row) => ({
      people: Number(row[row.length - 1]),
      levels: row.slice(0, -1).map((cell) => (cell === null ? '\u0000null' : String(cell))),
    })),
  };
  byLevel.push(nonUniformEntropyByLevel(domain));
}
const loss = decomposedLoss(byLevel);
const lattice = new Lattice(topLevels(QUASI));
const limit = Math.floor(maxSuppression * rows);

console.log(
  `extract bench ${new Date().toISOString()}: node ${process.version}, DuckDB threads ${ENGINE_THREADS}, ` +
    `load average at start ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
);
console.log(
  `${rows.toLocaleString('en-US')} customers (one row per person); quasi-identifiers ` +
    `${QUASI.map((q) => q.column.name).join(', ')}, ${lattice.size} nodes; suppression <= ${maxSuppression} ` +
    `(${limit.toLocaleString('en-US')} people)\n`,
);

const results: string[][] = [];
for (const k of ks) {
  const check = async (node: LevelVector) => {
    const [row] = await run(nodeCheckTree(fromQualified, QUASI, node, { k }));
    return Number(row?.[0]) <= limit;
  };
  const timedSearch = async (name: string, search: typeof flashSearch): Promise<[SearchResult, number]> => {
    const t0 = performance.now();
    const result = await search({
      lattice,
      check,
      loss,
      onProgress: (p) => {
        if (p.checked % 25 === 0) progress(`k=${k} ${name}: ${p.checked} checked, ${p.known}/${p.total} known`);
      },
    });
    return [result, (performance.now() - t0) / 1000];
  };
  const [flash, flashSeconds] = await timedSearch('flash', flashSearch);
  const [all, allSeconds] = await timedSearch('exhaustive', exhaustiveSearch);
  const same = JSON.stringify(flash.optimum) === JSON.stringify(all.optimum);
  results.push([
    String(k),
    `${flash.checked}/${lattice.size}`,
    fixed(flashSeconds, 2),
    fixed(allSeconds, 2),
    fixed(allSeconds / flashSeconds, 1),
    flash.optimum ? `[${flash.optimum.join(',')}]` : 'none',
    flash.loss === undefined ? '-' : fixed(flash.loss, 4),
    same ? 'yes' : `NO (exhaustive: [${all.optimum?.join(',')}])`,
  ]);
}
console.log(
  table(
    ['k', 'nodes checked', 'flash s', 'exhaustive s', 'speed-up', 'optimum', 'loss (NUE, 0-1)', 'same optimum'],
    results,
  ),
);
for (const row of results)
  console.log(
    `extract ${values.size} k=${row[0]}: flash ${row[2]} s (target <= 10 s at 1M for k = 10), same optimum ${row[7]}`,
  );

// The whole path as a modeler meets it, over HTTP, with the demo policy's rules (k 10, l 2, t 0.3, ≤ 5%):
// propose, approve, the officer's dry run (search only), the run (search, release, recount, seal, store,
// audit), fetch and open on the recipient's side.
const path = '/v1/collaborations/demo';
const modeler = t.client('northwind-analyst');
await modeler.send('POST', `${path}/extract-templates`, { ...DEMO_EXTRACT, name: 'bench_customers' });
const officer = t.client('acme-officer');
const { hash } = await officer.send<{ hash: string }>('GET', `${path}/extract-templates/bench_customers`);
await officer.send('POST', `${path}/extract-templates/bench_customers/approvals`, {
  hash,
  decision: 'approve',
  signature: toBase64(sign(approvalSigningBytes('demo', hash, 'approve'), t.keys['acme-officer']!.secretKey)),
});
const timed = async <T>(work: () => Promise<T>): Promise<[T, number]> => {
  const t0 = performance.now();
  const value = await work();
  return [value, (performance.now() - t0) / 1000];
};
const [dry, drySeconds] = await timed(() =>
  officer.send<ExtractAnswer>('POST', `${path}/extracts`, { template: 'bench_customers', dryRun: true }),
);
const [answer, runSeconds] = await timed(() =>
  modeler.send<ExtractAnswer>('POST', `${path}/extracts`, { template: 'bench_customers' }),
);
const [opened, openSeconds] = await timed(async () => {
  const sealed = await modeler.receiveBytes(`${path}/extracts/${answer.extract}`);
  const roomKey = fromBase64(t.room.publicKeys().signingPublicKey, 32) as Uint8Array;
  return openExtract(sealed, t.keys['northwind-analyst']!, roomKey);
});
const r = answer.report;
console.log(
  `\nwhole extract path, demo rules (k ${r.k.required}, l ${r.l?.required}, t ${r.t?.required}, <= ` +
    `${r.maxSuppression * 100}%), ${r.search.nodes} nodes:`,
);
console.log(
  table(
    ['step', 's', 'what'],
    [
      ['dry run (officer)', fixed(drySeconds, 2), `${dry.report.search.checked} nodes checked`],
      [
        'run (search, release, recount, seal)',
        fixed(runSeconds, 2),
        `${r.rows.toLocaleString('en-US')} rows, ${r.classes.toLocaleString('en-US')} classes, k ${r.k.achieved}, ` +
          `l ${r.l?.achieved}, t ${r.t?.achieved.toFixed(3)}, suppressed ${(r.suppressedShare * 100).toFixed(2)}%, ` +
          `loss ${r.informationLoss.toFixed(3)}`,
      ],
      ['fetch + open (recipient)', fixed(openSeconds, 2), `${(opened.plaintext.length / 1e6).toFixed(1)} MB CSV`],
    ],
  ),
);
await t.close();
process.exit(0);
