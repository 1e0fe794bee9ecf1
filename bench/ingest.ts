// Ingest benchmark: encrypted upload end to end vs DuckDB's own read_csv of the same plaintext, same run.
// npm run bench:ingest -- [--sizes 1m,10m] [--runs 3] [--paths read_csv,two-process,encrypted,room] [--breakdown |
// --no-breakdown]
// two-process = the provider's client in its own process, the room in this one (as the product runs);
// encrypted = client seal + HTTP + room, in one process (sharing one JS thread);
// room = the room's side alone, streaming an envelope sealed beforehand.
// Each measurement runs in a fresh child process (bench/support/ingest-run.ts) so its peak RSS is its own.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { parseArgs, promisify } from 'node:util';
import type { IngestSample } from './support/ingest-run.ts';
import { HTTP_PUT, ONE_THREAD_PARSE } from './support/ingest-stages.ts';
import { ENGINE_THREADS } from './support/bench-room.ts';
import { GiB, fixed, median, mib, table } from './support/measure.ts';

const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '1m,10m' },
    runs: { type: 'string', default: '3' },
    paths: { type: 'string', default: 'read_csv,two-process,encrypted,room' },
    breakdown: { type: 'boolean', default: false },
    'no-breakdown': { type: 'boolean', default: false },
  },
});
const sizes = values.sizes
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean);
const runs = Number(values.runs);
const PATH_LABELS: Record<string, string> = {
  read_csv: 'DuckDB read_csv',
  'two-process': 'encrypted upload, 2 processes',
  encrypted: 'encrypted upload, 1 process',
  room: 'room side (pre-sealed)',
};
const paths = values.paths
  .split(',')
  .map((p) => p.trim())
  .filter((p) => p in PATH_LABELS);
if (!paths.includes('read_csv')) paths.unshift('read_csv');
const MB = 1e6;
const run = promisify(execFile);

async function child(args: string[]): Promise<unknown> {
  const { stdout } = await run(
    process.execPath,
    ['--expose-gc', '--import', 'tsx', 'bench/support/ingest-run.ts', ...args],
    { maxBuffer: 64 * 1024 * 1024 },
  );
  const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
  if (!line) throw new Error(`No result from ingest-run ${args.join(' ')}:\n${stdout}`);
  return JSON.parse(line.slice('RESULT '.length)) as unknown;
}

interface Measured {
  readonly size: string;
  readonly dataset: string;
  readonly samples: ReadonlyMap<string, IngestSample[]>;
}

const med = (samples: readonly IngestSample[], pick: (s: IngestSample) => number): number => median(samples.map(pick));
const seconds = (m: Measured, path: string): number => med(m.samples.get(path) ?? [], (x) => x.seconds);
const ratioOf = (m: Measured, path: string): number => seconds(m, path) / seconds(m, 'read_csv');

/** Alternates the paths run by run so background load (another benchmark) hits them alike. */
async function measure(size: string, dataset: string): Promise<Measured> {
  const file = `fixtures/large/${size}/${dataset}.csv`;
  if (!existsSync(file)) throw new Error(`${file} is missing; generate it with npm run fixtures.`);
  const samples = new Map(paths.map((p) => [p, [] as IngestSample[]]));
  for (let i = 0; i < runs; i++) {
    for (const path of paths) samples.get(path)?.push((await child([path, dataset, file])) as IngestSample);
    const latest = paths.map((p) => `${p} ${fixed(samples.get(p)?.at(-1)?.seconds ?? NaN, 2)} s`).join(', ');
    process.stderr.write(`  ${size} ${dataset} run ${i + 1}/${runs}: ${latest}\n`);
  }
  return { size, dataset, samples };
}

function rowsFor(m: Measured): string[][] {
  return paths.map((path) => {
    const s = m.samples.get(path) ?? [];
    const secs = med(s, (x) => x.seconds);
    return [
      `${m.size} ${m.dataset} ${PATH_LABELS[path] as string}`,
      fixed(secs, 2),
      s.map((x) => fixed(x.seconds, 2)).join('/'),
      fixed(med(s, (x) => x.bytes) / MB / secs, 1),
      fixed(med(s, (x) => x.rows) / secs / 1000, 0),
      path === 'read_csv' ? '1.00' : fixed(ratioOf(m, path), 2),
      fixed(
        med(s, (x) => x.cpuSeconds),
        1,
      ),
      mib(med(s, (x) => x.rssPeak)),
      mib(med(s, (x) => x.rssAfter - x.rssBefore)),
      mib(med(s, (x) => x.duckdbBytes ?? NaN)),
      mib(med(s, (x) => x.rssPeak - (x.rssAfter - x.rssBefore))),
      mib(med(s, (x) => x.rssPeak - x.rssAfter)),
    ];
  });
}

const header = [
  'path',
  'median s',
  'runs s',
  'MB/s',
  'krows/s',
  'vs read_csv',
  'CPU s',
  'peak RSS MiB',
  'table MiB',
  'duckdb MiB',
  'peak excl table MiB',
  'peak above after MiB',
];

function summary(m: Measured, path: string): string {
  const s = m.samples.get(path) ?? [];
  const secs = seconds(m, path);
  const rows = med(s, (x) => x.rows);
  const bytes = med(s, (x) => x.bytes);
  const label =
    {
      'two-process': 'encrypted end to end, client in its own process',
      encrypted: 'encrypted end to end, one process',
    }[path] ?? 'room side (pre-sealed envelope)';
  const datasetSuffix = m.dataset === 'advertiser_customers' ? '' : ` ${m.dataset}`;
  const rowsPerSecond = Math.round(rows / secs).toLocaleString('en-US');
  return (
    `ingest ${m.size}${datasetSuffix}: ${label} ${fixed(secs, 1)} s ` +
    `(${fixed(bytes / MB / secs, 1)} MB/s, ${rowsPerSecond} rows/s) ` +
    `vs read_csv ${fixed(seconds(m, 'read_csv'), 1)} s → ratio ${fixed(ratioOf(m, path), 2)}`
  );
}

async function breakdown(size: string, dataset: string, readCsvSeconds: number | undefined): Promise<string> {
  const file = `fixtures/large/${size}/${dataset}.csv`;
  const result = (await child(['components', dataset, file, String(runs)])) as Record<
    string,
    { median: number; runs: number[] } | number
  >;
  const bytes = result.bytes as number;
  const stages = Object.entries(result).filter(
    (entry): entry is [string, { median: number; runs: number[] }] =>
      typeof entry[1] === 'object' && !entry[0].startsWith('cpu:'),
  );
  const cpuOf = (name: string): number =>
    (result[`cpu:${name}`] as { median: number } | undefined)?.median ?? Number.NaN;
  const rows = stages.map(([name, v]) => [
    name,
    fixed(v.median, 2),
    v.runs.map((x) => fixed(x, 2)).join('/'),
    fixed(bytes / MB / v.median, 0),
    fixed(cpuOf(name), 2),
  ]);
  // The least CPU the end-to-end path can use: stages that cannot be skipped, each at its cheapest,
  // without the stages' own file reads (the real path gets those bytes from memory or the network),
  // and leaving out the ciphertext tee, the pipe and every coordination cost. On `cores` cores it
  // cannot finish faster than floor / cores, however well the stages overlap.
  const readFile = cpuOf('read file only (1 MiB pieces)');
  const roomCpu =
    cpuOf(HTTP_PUT) -
    readFile +
    cpuOf('room: readEnvelope of sealed file → discard') -
    readFile +
    cpuOf(ONE_THREAD_PARSE);
  const endToEndCpu = cpuOf('client: read + count + seal (writeEnvelope → /dev/null)') + roomCpu;
  const cores = availableParallelism();
  const floor = (cpu: number, label: string) =>
    readCsvSeconds === undefined
      ? ''
      : `\nCPU floor, ${label}: ${fixed(cpu, 2)} CPU s / ${cores} cores = ${fixed(cpu / cores, 2)} s = ` +
        `${fixed(cpu / cores / readCsvSeconds, 2)}x read_csv (${fixed(readCsvSeconds, 2)} s), ` +
        `with perfect overlap and no coordination cost`;
  return (
    `breakdown ${size} ${dataset} (each stage alone, same fixture, ${runs} runs, median; envelope written ` +
    `once for the decrypt stages; CPU s = all threads of the process):\n` +
    table(['stage', 'median s', 'runs s', 'MB/s', 'CPU s'], rows) +
    floor(
      endToEndCpu,
      'end to end (client read + count + seal, HTTP both ends, room decrypt + hashes, one-thread DuckDB parse)',
    ) +
    floor(roomCpu, 'room side as benchmarked (HTTP both ends, room decrypt + hashes, one-thread DuckDB parse)')
  );
}

const say = (text = ''): void => console.log(text);

const loadAverage = loadavg()
  .map((l) => l.toFixed(2))
  .join(' ');
say(
  `ingest bench ${new Date().toISOString()}: node ${process.version}, ` +
    `DuckDB threads ${ENGINE_THREADS} on both paths, memory_limit 16GB, ` +
    `${runs} runs per measurement (median shown, runs listed), load average at start ${loadAverage}`,
);
say(
  'encrypted upload = uploadFile (read + count records + seal) → HTTP PUT over loopback → room: verify, ' +
    'tee ciphertext to disk, decrypt, named pipe → DuckDB read_csv → fsync + commit.',
);
say(
  '2 processes: the client runs in its own process as `cleanroom upload` does (time = its uploadFile call; ' +
    "CPU = both processes; peak RSS = the room's, the client's in the target lines). 1 process: client and " +
    'room share one JS thread (the test harness). Each measurement runs in fresh processes.',
);
say(
  'MB = 10^6 bytes of plaintext CSV. table = RSS after load − RSS before; peak excl table = peak RSS − ' +
    'table; peak above after = transient streaming overhead.',
);
say();

const measured: Measured[] = [];
for (const size of sizes) {
  measured.push(await measure(size, 'advertiser_customers'));
  if (size === '1m') measured.push(await measure(size, 'publisher_impressions'));
}
say(table(header, measured.flatMap(rowsFor)));
say();
const targetPaths = paths.filter((p) => p !== 'read_csv');
for (const m of measured) {
  for (const path of targetPaths) {
    const s = m.samples.get(path) ?? [];
    const peakExcl = med(s, (x) => x.rssPeak - (x.rssAfter - x.rssBefore));
    const clientPeak = med(s, (x) => x.clientRssPeak ?? Number.NaN);
    const client = Number.isNaN(clientPeak) ? '' : `; client peak ${fixed(clientPeak / GiB, 2)} GiB`;
    const ratio = ratioOf(m, path);
    const ratioTarget = ratio <= 2 ? 'met' : 'NOT met';
    const peakTarget = peakExcl < 2 * GiB ? 'met' : 'NOT met';
    say(
      `${m.size} ${m.dataset} ${path}: ratio ${fixed(ratio, 2)} (target ≤ 2.00 at 10m: ${ratioTarget}); ` +
        `peak excl table ${fixed(peakExcl / GiB, 2)} GiB (target < 2 GiB: ${peakTarget})${client}`,
    );
  }
}
const wantBreakdown =
  !values['no-breakdown'] && (values.breakdown || measured.some((m) => targetPaths.some((p) => ratioOf(m, p) > 2)));
if (wantBreakdown) {
  say();
  const over = measured.some((m) => targetPaths.some((p) => ratioOf(m, p) > 2));
  say(over ? 'The encrypted path is over 2x plain read_csv: where the time goes.' : 'Where the time goes.');
  for (const size of sizes) {
    const m = measured.find((x) => x.size === size && x.dataset === 'advertiser_customers');
    say(`${await breakdown(size, 'advertiser_customers', m ? seconds(m, 'read_csv') : undefined)}\n`);
  }
}
say();
for (const m of measured) for (const path of targetPaths) say(summary(m, path));
