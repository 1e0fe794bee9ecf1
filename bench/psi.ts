// PSI benchmark, same sets, same run: the native engine's room-counted session (issue 14), psi.js
// chunked over worker threads, and one psi.js thread.
// npx tsx bench/psi.ts [--sizes 10000,100000] [--engines native,psi.js] [--workers N] [--no-reference] [--reveal]
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { normaliseIdentifiers } from '../src/psi/identifier-normalisation.ts';
import { inMemoryPsiChannel } from '../src/psi/in-memory-transport.ts';
import { runPsiClient } from '../src/psi/psi-client-party.ts';
import type { PsiPhase } from '../src/psi/psi-party-options.ts';
import { runPsiServer } from '../src/psi/psi-server-party.ts';
import { encodeRawSetup } from '../src/psi/psi-protobuf.ts';
import { PsiWorkerPool } from '../src/psi/worker-pool.ts';
import { inMemoryNativeChannel } from '../src/psi/in-memory-transport.ts';
import { hashIdentifiers } from '../src/psi/native-hashing.ts';
import { runNativeClient, runNativeServer } from '../src/psi/native-parties.ts';
import { parsePsiRule } from '../src/psi/psi-rules.ts';
import { PsiSessionRegistry } from '../src/psi/session-registry.ts';
import { cryptoRandomSource } from '../src/privacy/index.ts';
import { PsiRoomCounter } from '../src/room/psi-room-count.ts';

const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '10000,100000' },
    workers: { type: 'string', default: String(availableParallelism()) },
    'no-reference': { type: 'boolean', default: false },
    engines: { type: 'string', default: 'native,psi.js' },
    reveal: { type: 'boolean', default: false },
  },
});
const sizes = values.sizes.split(',').map(Number);
const workers = Number(values.workers);
const reveal = values.reveal;
const engines = new Set(values.engines.split(','));
const MiB = 1024 * 1024;
const seconds = (ms: number): string => (ms / 1000).toFixed(1);

function sets(n: number): { server: string[]; client: string[] } {
  // Half of each set overlaps the other: ids n/2 .. n-1 are in both.
  const server = Array.from({ length: n }, (_, i) => `customer-${i}@example.com`);
  const client = Array.from({ length: n }, (_, i) => `customer-${i + Math.floor(n / 2)}@example.com`);
  return { server, client };
}

function rssSampler(): { stop: () => number } {
  // Worker threads share the process, so process RSS already includes their WASM heaps.
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 100);
  return { stop: () => (clearInterval(timer), Math.max(peak, process.memoryUsage().rss)) };
}

/** CPU seconds of the whole process, worker threads included: a load-independent measure on a shared machine. */
const cpuSeconds = (): number => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
};

async function chunked(n: number): Promise<{
  total: number;
  cpu: number;
  phases: Map<PsiPhase, [number, number]>;
  bytes: Map<string, number>;
  size: number;
  peak: number;
}> {
  const { server, client } = sets(n);
  const bytes = new Map<string, number>();
  const phases = new Map<PsiPhase, [number, number]>();
  const channel = inMemoryPsiChannel((kind, message) => (bytes.set(kind, message.length), message));
  const t0 = performance.now();
  const onProgress = (phase: PsiPhase, done: number, total: number): void => {
    const now = performance.now() - t0;
    const span = phases.get(phase);
    if (span === undefined) phases.set(phase, [now, now]);
    else if (done === total) span[1] = now;
  };
  const options = { revealIntersection: reveal, minSetSize: 2, workers, onProgress };
  const sampler = rssSampler();
  const cpu0 = cpuSeconds();
  const [, result] = await Promise.all([
    runPsiServer(normaliseIdentifiers(server, 'none'), channel.server, options),
    runPsiClient(normaliseIdentifiers(client, 'none'), channel.client, options),
  ]);
  const peak = sampler.stop();
  return { total: performance.now() - t0, cpu: cpuSeconds() - cpu0, phases, bytes, size: result.size, peak };
}

/** Both members on the native engine with the room's check and count, all in this process. */
async function nativeRun(
  n: number,
): Promise<{ total: number; cpu: number; count: number; bytes: number; peak: number }> {
  const { server, client } = sets(n);
  const registry = new PsiSessionRegistry();
  const rule = parsePsiRule({
    server: 's',
    client: 'c',
    minSetSize: 2,
    maxSessionsPerDay: 1,
    sessionTtlSeconds: 86_400,
    normalisation: 'none',
  });
  const { id } = registry.open('bench', rule, 'c');
  const counter = new PsiRoomCounter();
  let count = -1;
  const channel = inMemoryNativeChannel(registry, id, { server: 's', client: 'c' }, async () => {
    const outcome = await counter.count(registry, id, 'c', cryptoRandomSource);
    if ('trueCount' in outcome) count = outcome.trueCount;
  });
  // One pool per member, as two CLI processes would have.
  const pools = [0, 1].map(() => new PsiWorkerPool({ size: workers, engine: 'native' }));
  const [serverPool, clientPool] = pools as [PsiWorkerPool, PsiWorkerPool];
  const sampler = rssSampler();
  const cpu0 = cpuSeconds();
  const t0 = performance.now();
  await Promise.all([
    hashIdentifiers(serverPool, [server], 'none').then((own) =>
      runNativeServer(own, channel.server, { minSetSize: 2, workers: serverPool }),
    ),
    hashIdentifiers(clientPool, [client], 'none').then((own) =>
      runNativeClient(own, channel.client, { minSetSize: 2, workers: clientPool }),
    ),
  ]);
  const total = performance.now() - t0;
  await Promise.all([counter.close(), ...pools.map((pool) => pool.close())]);
  return { total, cpu: cpuSeconds() - cpu0, count, bytes: 32, peak: sampler.stop() };
}

async function singleThread(
  n: number,
): Promise<{ total: number; cpu: number; passes: Record<string, number>; size: number }> {
  const { server, client } = sets(n);
  const pool = new PsiWorkerPool({ size: 1 });
  try {
    const passes: Record<string, number> = {};
    const timed = async <T>(name: string, run: () => Promise<T>): Promise<T> => {
      const t = performance.now();
      const out = await run();
      passes[name] = performance.now() - t;
      return out;
    };
    const cpu0 = cpuSeconds();
    const serverKey = await pool.run('new-key', {});
    const clientKey = await pool.run('new-key', {});
    const setup = await timed('setup', () =>
      pool.run('server-setup', { key: serverKey, inputs: server, falsePositiveRate: 1e-9 }),
    );
    const request = await timed('request', () =>
      pool.run('client-request', { key: clientKey, revealIntersection: reveal, inputs: client }),
    );
    const response = await timed('process', () =>
      pool.run('server-process', { key: serverKey, revealIntersection: reveal, elements: request }),
    );
    const result = await timed('finalise', () =>
      pool.run('client-finalise', {
        key: clientKey,
        revealIntersection: reveal,
        setup: encodeRawSetup(setup),
        elements: response,
      }),
    );
    const total = Object.values(passes).reduce((a, b) => a + b, 0);
    return { total, cpu: cpuSeconds() - cpu0, passes, size: result.size };
  } finally {
    await pool.close();
  }
}

console.log(
  `psi bench: ${workers} workers per party on ${availableParallelism()} cores, node ${process.version}, ` +
    `${reveal ? 'reveal' : 'cardinality'}`,
);
for (const n of sizes) {
  const expected = n - Math.floor(n / 2);
  let nativeTotal: number | undefined;
  if (engines.has('native')) {
    const run = await nativeRun(n);
    nativeTotal = run.total;
    console.log(
      `\n${n} x ${n}: native room-counted total ${seconds(run.total)} s, exact count ${run.count} (expected ` +
        `${expected}); ${run.bytes} B/element in each of setup, request, response, final; peak RSS ` +
        `${(run.peak / MiB).toFixed(0)} MiB; CPU ${run.cpu.toFixed(1)} s`,
    );
  }
  if (!engines.has('psi.js')) continue;
  const run = await chunked(n);
  const spans = [...run.phases].map(([phase, [from, to]]) => `${phase} ${seconds(from)}-${seconds(to)}s`).join(', ');
  console.log(`\n${n} x ${n}: chunked total ${seconds(run.total)} s, intersection ${run.size} (expected ${expected})`);
  console.log(`  phases (wall-clock spans from start; setup and request overlap): ${spans}`);
  const wire = [...run.bytes]
    .map(([kind, b]) => `${kind} ${(b / MiB).toFixed(2)} MiB (${(b / n).toFixed(1)} B/elem)`)
    .join(', ');
  console.log(`  wire: ${wire}`);
  const msPerElementPass = ((run.cpu * 1000) / n / 4).toFixed(3);
  console.log(
    `  peak RSS (process incl. workers) ${(run.peak / MiB).toFixed(0)} MiB; CPU ${run.cpu.toFixed(1)} s ` +
      `(${msPerElementPass} ms per element per pass)`,
  );
  if (nativeTotal !== undefined)
    console.log(`  native engine vs psi.js chunked: ${(run.total / nativeTotal).toFixed(2)}x faster`);
  if (values['no-reference']) continue;
  const ref = await singleThread(n);
  const passes = Object.entries(ref.passes)
    .map(([k, v]) => `${k} ${seconds(v)}s (${(v / n).toFixed(3)} ms/elem)`)
    .join(', ');
  console.log(`  single thread: total ${seconds(ref.total)} s, ${passes}, intersection ${ref.size}`);
  console.log(`  single thread CPU ${ref.cpu.toFixed(1)} s; chunking CPU overhead ${(run.cpu / ref.cpu).toFixed(2)}x`);
  console.log(
    `  wall-clock speed-up ${(ref.total / run.total).toFixed(2)}x; on an idle machine with ${workers} cores: ` +
      `~${((ref.cpu / run.cpu) * workers).toFixed(2)}x`,
  );
}
