// One ingest measurement in a fresh process, so peak RSS and allocator state are its own.
// node --expose-gc --import tsx bench/support/ingest-run.ts <encrypted|room|read_csv|components> <dataset> <file>
// [runs]
import { DuckDBInstance } from '@duckdb/node-api';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, open, rm, stat } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fromBase64 } from '../../src/crypto/bytes.ts';
import { readEnvelope } from '../../src/crypto/envelope-reader.ts';
import { writeEnvelope } from '../../src/crypto/envelope-writer.ts';
import { generateSealingKeyPair, openSealed } from '../../src/crypto/sealing.ts';
import { DataEngine } from '../../src/store/data-engine.ts';
import { CsvRecordCounter } from '../../src/upload/csv-records.ts';
import { decryptIntoEngine } from '../../src/upload/decrypt-into-engine.ts';
import { StagingArea } from '../../src/upload/staging-area.ts';
import { DEMO_PROVIDERS, uploadDemoDataset } from '../../test/support/test-room.ts';
import { ENGINE_THREADS, startBenchRoom } from './bench-room.ts';
import { keyFile } from '../../test/support/cli.ts';
import { toBase64 } from '../../src/crypto/bytes.ts';
import { sign } from '../../src/crypto/signatures.ts';
import type { PrincipalKey } from '../../src/keys/principal-key-file.ts';
import { manifestSigningBytes, type UploadManifest } from '../../src/upload/manifest.ts';
import { demoShape, engineReadCsv, plainReadCsv } from './dataset-columns.ts';
import { cpuSeconds, median, rssSampler } from './measure.ts';
import { HTTP_PUT, ONE_THREAD_PARSE } from './ingest-stages.ts';

const [mode, dataset = '', file = '', runsText = '3'] = process.argv.slice(2);
const shape = demoShape(dataset);
const runs = Number(runsText);
const gc = (): void => (globalThis as { gc?: () => void }).gc?.();
const settledRss = (): number => (gc(), process.memoryUsage().rss);
const report = (value: unknown): void => console.log(`RESULT ${JSON.stringify(value)}`);

export interface IngestSample {
  seconds: number;
  cpuSeconds: number;
  rows: number;
  bytes: number;
  rssBefore: number;
  rssPeak: number;
  rssAfter: number;
  duckdbBytes?: number;
  /** Only when the client runs in its own process. */
  clientRssPeak?: number;
}

async function encrypted(upload: typeof uploadDemoDataset): Promise<IngestSample> {
  const t = await startBenchRoom();
  try {
    const rssBefore = settledRss();
    const sampler = rssSampler(100);
    const cpu0 = cpuSeconds();
    const t0 = performance.now();
    const receipt = await upload(t, dataset, file);
    const seconds = (performance.now() - t0) / 1000;
    const cpu = cpuSeconds() - cpu0;
    const rssPeak = sampler.stop();
    const rssAfter = settledRss();
    const memory = await t.internals.engine
      .query('SELECT sum(memory_usage_bytes)::DOUBLE AS bytes FROM duckdb_memory()')
      .catch(() => undefined);
    const duckdbBytes = Number(memory?.rows[0]?.[0] ?? Number.NaN);
    return {
      seconds,
      cpuSeconds: cpu,
      rows: receipt.rows,
      bytes: receipt.plaintextBytes,
      rssBefore,
      rssPeak,
      rssAfter,
      duckdbBytes,
    };
  } finally {
    await t.close();
  }
}

async function readCsv(): Promise<IngestSample> {
  const instance = await DuckDBInstance.create(':memory:', { threads: String(ENGINE_THREADS), memory_limit: '16GB' });
  const connection = await instance.connect();
  try {
    const rssBefore = settledRss();
    const sampler = rssSampler(100);
    const cpu0 = cpuSeconds();
    const t0 = performance.now();
    await connection.run(`CREATE TABLE loaded AS ${plainReadCsv(file, shape)}`);
    const seconds = (performance.now() - t0) / 1000;
    const cpu = cpuSeconds() - cpu0;
    const rssPeak = sampler.stop();
    const rssAfter = settledRss();
    const rows = Number((await connection.runAndReadAll('SELECT count(*) FROM loaded')).getRows()[0]?.[0] ?? 0);
    const memory = await connection.runAndReadAll('SELECT sum(memory_usage_bytes)::DOUBLE FROM duckdb_memory()');
    const duckdbBytes = Number(memory.getRows()[0]?.[0] ?? Number.NaN);
    return {
      seconds,
      cpuSeconds: cpu,
      rows,
      bytes: (await stat(file)).size,
      rssBefore,
      rssPeak,
      rssAfter,
      duckdbBytes,
    };
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

async function* fileChunks(path: string): AsyncGenerator<Uint8Array> {
  yield* createReadStream(path, { highWaterMark: 1024 * 1024 }) as AsyncIterable<Buffer>;
}

/** What uploadFile does on the client before the network: read, count records, seal. */
async function* clientEnvelope(path: string, roomKey: Uint8Array): AsyncGenerator<Uint8Array> {
  const counter = new CsvRecordCounter();
  async function* counted(): AsyncGenerator<Uint8Array> {
    for await (const piece of fileChunks(path)) {
      counter.push(piece);
      yield piece;
    }
  }
  yield* writeEnvelope(counted(), {
    recipientPublicKey: roomKey,
    trailer: () => ({ manifest: { rows: counter.dataRecords }, signature: '', signer: '' }),
  });
}

async function drain(source: AsyncIterable<Uint8Array>): Promise<number> {
  let bytes = 0;
  for await (const piece of source) bytes += piece.length;
  return bytes;
}

/** Each stage of the encrypted path alone, `runs` times, in seconds. */
async function components(): Promise<Record<string, number[] | number>> {
  const sealing = generateSealingKeyPair();
  const dataKey = (header: { sealedKey: string }) =>
    openSealed(sealing.secretKey, fromBase64(header.sealedKey) ?? new Uint8Array());
  const work = await mkdtemp(join(tmpdir(), 'cleanroom-bench-'));
  const envelopePath = join(work, 'upload.env');
  const out: Record<string, number[]> = {};
  // Wall seconds under the stage's name, CPU seconds (every thread of this process) under "cpu:".
  const time = async (name: string, run: () => Promise<unknown>) => {
    const t0 = performance.now();
    const cpu0 = cpuSeconds();
    await run();
    (out[name] ??= []).push((performance.now() - t0) / 1000);
    (out[`cpu:${name}`] ??= []).push(cpuSeconds() - cpu0);
  };
  const staging = await StagingArea.create();
  const engine = await DataEngine.open({
    stagingDirectory: staging.directory,
    memoryLimit: '16GB',
    threads: ENGINE_THREADS,
    statementTimeoutMs: 600_000,
  });
  const instance = await DuckDBInstance.create(':memory:', { threads: String(ENGINE_THREADS), memory_limit: '16GB' });
  const connection = await instance.connect();
  // One thread parses with the least CPU (no coordination): the floor's parse cost.
  const singleInstance = await DuckDBInstance.create(':memory:', { threads: '1', memory_limit: '16GB' });
  const single = await singleInstance.connect();
  const server = createServer((req, res) => {
    req.on('data', () => undefined).on('end', () => res.end('{}'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  try {
    // The ciphertext the room tees to disk and fsyncs before commit; also the input of the decrypt-only stage.
    await time('write envelope to disk (client seal + write)', () =>
      pipeline(Readable.from(clientEnvelope(file, sealing.publicKey)), createWriteStream(envelopePath)),
    );
    await time('fsync envelope file', async () => {
      const handle = await open(envelopePath, 'r');
      await handle.sync();
      await handle.close();
    });
    for (let i = 0; i < runs; i++) {
      await time('read file only (1 MiB pieces)', () => drain(fileChunks(file)));
      await time('client: read + count + seal (writeEnvelope → /dev/null)', () =>
        drain(clientEnvelope(file, sealing.publicKey)),
      );
      await time('client: read + seal, no record count (writeEnvelope → /dev/null)', () =>
        drain(
          writeEnvelope(fileChunks(file), {
            recipientPublicKey: sealing.publicKey,
            trailer: () => ({ manifest: {}, signature: '', signer: '' }),
          }),
        ),
      );
      await time('client: CsvRecordCounter alone', async () => {
        const counter = new CsvRecordCounter();
        for await (const piece of fileChunks(file)) counter.push(piece);
      });
      await time('room: readEnvelope of sealed file → discard', () =>
        readEnvelope(fileChunks(envelopePath), { dataKey, onPlaintext: () => undefined }),
      );
      await time(HTTP_PUT, async () => {
        // node:http, as RoomClient.stream sends uploads.
        const request = httpRequest(url, { method: 'PUT' });
        const answered = new Promise<void>((resolve, reject) =>
          request.once('response', (res) => res.resume().once('end', resolve)).once('error', reject),
        );
        await pipeline(Readable.from(fileChunks(envelopePath)), request);
        await answered;
      });
      await time('DuckDB: read_csv(file), engine options', async () => {
        await connection.run(`CREATE OR REPLACE TABLE loaded AS ${engineReadCsv(file, shape)}`);
        await connection.run('DROP TABLE loaded');
      });
      await time(ONE_THREAD_PARSE, async () => {
        await single.run(`CREATE OR REPLACE TABLE loaded AS ${engineReadCsv(file, shape)}`);
        await single.run('DROP TABLE loaded');
      });
      await time('DuckDB: read_csv(file), engine options minus dateformat', async () => {
        await connection.run(
          `CREATE OR REPLACE TABLE loaded AS ${engineReadCsv(file, shape).replace(", dateformat = '%Y-%m-%d'", '')}`,
        );
        await connection.run('DROP TABLE loaded');
      });
      await time('DuckDB: read_csv(named pipe) fed plaintext by Node (loadIncoming)', async () => {
        const pipe = await staging.newPipe();
        const name = `__bench_${i}`;
        const loading = engine.loadIncoming(shape, { kind: 'csv', path: pipe }, name);
        await pipeline(createReadStream(file, { highWaterMark: 1024 * 1024 }), createWriteStream(pipe));
        await loading;
        await engine.discardIncoming(shape, name);
        await staging.remove(pipe);
      });
      await time('room: decryptIntoEngine(sealed file) (decrypt + pipe + load)', async () => {
        const loaded = await decryptIntoEngine(fileChunks(envelopePath), dataKey, shape, 'csv', engine, staging, {
          authenticate: () => undefined,
          maxParquetBytes: 0,
        });
        await engine.discardIncoming(shape, loaded.incomingName);
      });
      gc();
    }
    return { ...out, bytes: (await stat(file)).size, envelopeBytes: (await stat(envelopePath)).size };
  } finally {
    server.close();
    single.closeSync();
    singleInstance.closeSync();
    connection.closeSync();
    instance.closeSync();
    engine.close();
    await staging.destroy();
    await rm(work, { recursive: true, force: true });
  }
}

/**
 * End to end as in production: the room in this process, the provider's client in its own
 * (bench/support/upload-client.ts), so each has its own JS thread. Seconds are the client's
 * uploadFile from start to receipt; CPU is both processes'; peak RSS is the room's, the client's
 * is reported beside it.
 */
async function twoProcesses(): Promise<IngestSample> {
  const t = await startBenchRoom();
  try {
    const keyPath = await keyFile(t, DEMO_PROVIDERS[dataset] as string);
    const rssBefore = settledRss();
    const sampler = rssSampler(100);
    const cpu0 = cpuSeconds();
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [
      '--import',
      'tsx',
      'bench/support/upload-client.ts',
      t.baseUrl,
      keyPath,
      dataset,
      file,
    ]);
    process.stderr.write(stderr);
    const roomCpu = cpuSeconds() - cpu0;
    const rssPeak = sampler.stop();
    const rssAfter = settledRss();
    const client = JSON.parse(
      stdout
        .split('\n')
        .find((l) => l.startsWith('RESULT '))
        ?.slice('RESULT '.length) ?? '{}',
    ) as { seconds: number; cpuSeconds: number; rssPeak: number; rows: number; bytes: number };
    return {
      seconds: client.seconds,
      cpuSeconds: roomCpu + client.cpuSeconds,
      rows: client.rows,
      bytes: client.bytes,
      rssBefore,
      rssPeak,
      rssAfter,
      clientRssPeak: client.rssPeak,
    };
  } finally {
    await t.close();
  }
}

/**
 * The room's side alone: the envelope is sealed beforehand, as on the provider's own machine, then
 * streamed from disk over HTTP and timed through verification, decryption, load and commit.
 */
async function roomSide(): Promise<IngestSample> {
  const t = await startBenchRoom();
  const work = await mkdtemp(join(tmpdir(), 'cleanroom-bench-envelope-'));
  try {
    const provider = DEMO_PROVIDERS[dataset] as string;
    const key = t.keys[provider] as PrincipalKey;
    const roomKey = fromBase64(
      (await t.client(provider).getPublic<{ sealingPublicKey: string }>('/v1/room')).sealingPublicKey,
      32,
    ) as Uint8Array;
    const envelopePath = join(work, 'upload.env');
    const counter = new CsvRecordCounter();
    async function* counted() {
      for await (const piece of createReadStream(file, { highWaterMark: 1024 * 1024 }) as AsyncIterable<Buffer>) {
        counter.push(piece);
        yield piece;
      }
    }
    const sealed = writeEnvelope(counted(), {
      recipientPublicKey: roomKey,
      trailer: (facts) => {
        const manifest: UploadManifest = {
          v: 1,
          collaboration: 'demo',
          dataset,
          version: 1,
          format: 'csv',
          rows: counter.dataRecords,
          plaintextBytes: facts.plaintextBytes,
          plaintextSha256: facts.plaintextSha256,
          envelopeSha256: facts.envelopeSha256,
          createdAt: new Date().toISOString(),
        };
        return {
          manifest: { ...manifest },
          signature: toBase64(sign(manifestSigningBytes(manifest), key.secretKey)),
          signer: key.publicKeyText,
        };
      },
    });
    await pipeline(Readable.from(sealed), createWriteStream(envelopePath));
    const rssBefore = settledRss();
    const sampler = rssSampler(100);
    const cpu0 = cpuSeconds();
    const t0 = performance.now();
    const receipt = await t
      .client(provider)
      .stream<{ rows: number }>(
        'PUT',
        `/v1/collaborations/demo/datasets/${dataset}`,
        createReadStream(envelopePath, { highWaterMark: 1024 * 1024 }),
      );
    const seconds = (performance.now() - t0) / 1000;
    const cpu = cpuSeconds() - cpu0;
    const rssPeak = sampler.stop();
    const rssAfter = settledRss();
    return {
      seconds,
      cpuSeconds: cpu,
      rows: receipt.rows,
      bytes: (await stat(file)).size,
      rssBefore,
      rssPeak,
      rssAfter,
    };
  } finally {
    await t.close();
    await rm(work, { recursive: true, force: true });
  }
}

if (mode === 'encrypted') report(await encrypted(uploadDemoDataset));
else if (mode === 'two-process') report(await twoProcesses());
else if (mode === 'room') report(await roomSide());
else if (mode === 'read_csv') report(await readCsv());
else if (mode === 'components') {
  const result = await components();
  const medians = Object.fromEntries(
    Object.entries(result).map(([k, v]) => [k, Array.isArray(v) ? { median: median(v), runs: v } : v]),
  );
  report(medians);
} else {
  console.error(`Unknown mode ${mode}; use encrypted, two-process, room, read_csv or components.`);
  process.exitCode = 2;
}
