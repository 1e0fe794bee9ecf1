import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { normaliseIdentifiers } from '../../src/psi/identifier-normalisation.ts';
import { hashToElements, multiplyElements, sodiumReady } from '../../src/psi/native-group.ts';
import { hashIdentifiers } from '../../src/psi/native-hashing.ts';
import { parsePsiRule } from '../../src/psi/psi-rules.ts';
import { PsiSessionRegistry, PSI_VERIFY_SAMPLES } from '../../src/psi/session-registry.ts';
import { PsiWorkerPool } from '../../src/psi/worker-pool.ts';
import { countCsvRows, readCsvColumn, streamCsvColumn } from '../../src/store/local-files.ts';
import { expectRefusal, seeded } from './helpers.ts';

const pool = new PsiWorkerPool({ size: 2, engine: 'native' });
const dir = mkdtempSync(join(tmpdir(), 'cleanroom-native-memory-'));
beforeAll(() => sodiumReady);
afterAll(async () => {
  await pool.close();
  rmSync(dir, { recursive: true, force: true });
});

const hex = (packed: Uint8Array) =>
  Array.from({ length: packed.length / 32 }, (_, i) =>
    Buffer.from(packed.subarray(i * 32, (i + 1) * 32)).toString('hex'),
  );

/** Rows with every kind of trouble a member's file has: case, spaces, repeats, invalid and missing values. */
function messyRows(seed: number, n: number): (string | null)[] {
  const random = seeded(seed);
  return Array.from({ length: n }, () => {
    const r = random();
    if (r < 0.03) return null;
    if (r < 0.06) return 'not an e-mail';
    const person = Math.floor(random() * n * 0.7);
    return r < 0.3 ? `  User${person}@Example.COM ` : `user${person}@example.com`;
  });
}

describe('a member’s set hashed in bounded memory (native engine)', () => {
  it('grows its buffer when the row count is not known, with the same result', async () => {
    const rows = messyRows(5, 30_000);
    const [unknown, known] = [
      await hashIdentifiers(pool, [rows], 'email'),
      await hashIdentifiers(pool, [rows], 'email', undefined, rows.length),
    ];
    expect(new Set(hex(unknown.elements))).toEqual(new Set(hex(known.elements)));
    expect(hex(unknown.elements)).toHaveLength(normaliseIdentifiers(rows, 'email').values.length);
  });

  it('streams to the same distinct set, invalid and duplicate counts as normalising the whole column', async () => {
    // 20,000 rows cross the hashing chunk (8,192) and the batch boundaries below.
    const rows = messyRows(3, 20_000);
    const batches = Array.from({ length: Math.ceil(rows.length / 2048) }, (_, i) =>
      rows.slice(i * 2048, (i + 1) * 2048),
    );
    const reports: [number, number][] = [];
    const hashed = await hashIdentifiers(
      pool,
      batches,
      'email',
      (_, done, total) => reports.push([done, total]),
      20_000,
    );
    // Progress counts rows against the file's total and only moves forward, ending at every row.
    expect(reports.length).toBeGreaterThan(1);
    expect(reports.every(([, total]) => total === 20_000)).toBe(true);
    expect(reports.map(([done]) => done)).toEqual(reports.map(([done]) => done).sort((x, y) => x - y));
    expect(reports.at(-1)).toEqual([20_000, 20_000]);
    const whole = normaliseIdentifiers(rows, 'email');
    expect(hashed.rows).toBe(rows.length);
    expect(hashed.invalidRows).toBe(whole.invalidRows);
    expect(hashed.duplicateRows).toBe(whole.duplicateRows);
    // The set sits at the start of a buffer of its own (sized from the row count), which can move
    // to a worker without a copy.
    expect(hashed.elements.byteOffset).toBe(0);
    expect(hashed.elements.buffer).not.toBeInstanceOf(SharedArrayBuffer);
    expect(hashed.elements.buffer.byteLength).toBe(20_000 * 32);
    expect(new Set(hex(hashed.elements))).toEqual(new Set(hex(hashToElements(whole.values))));
    expect(hex(hashed.elements)).toHaveLength(whole.values.length);
  });

  it('reads a CSV column in chunks exactly as reading it whole, missing values and quotes included', async () => {
    const file = join(dir, 'ids.csv');
    const rows = messyRows(4, 5_000).map((v) => (v === null ? '' : `"${v.replaceAll('"', '""')}"`));
    writeFileSync(file, `id,email\n${rows.map((v, i) => `${i},${v}`).join('\n')}\n`);
    const streamed: (string | null)[] = [];
    let chunks = 0;
    for await (const batch of streamCsvColumn(file, 'email')) {
      streamed.push(...batch);
      chunks += 1;
    }
    expect(chunks).toBeGreaterThan(1);
    expect(streamed).toEqual(await readCsvColumn(file, 'email'));
    expect(await countCsvRows(file)).toBe(5_000);
    await expect(async () => {
      for await (const _ of streamCsvColumn(file, 'mail')) void _;
    }).rejects.toThrow(/has no column "mail"/);
  });
});

describe('what the room keeps of a room-counted session', () => {
  const rule = parsePsiRule({
    server: 'acme',
    client: 'globex',
    minSetSize: 2,
    maxSessionsPerDay: 5,
    sessionTtlSeconds: 600,
    normalisation: 'email',
  });

  it('drops the request once answered and the setup once finalised, keeping only sampled positions', async () => {
    await sodiumReady;
    const registry = new PsiSessionRegistry();
    const { id } = registry.open('c', rule, 'globex');
    const [a, b] = [new Uint8Array(randomBytes(32)), new Uint8Array(randomBytes(32))];
    const ids = (p: string, n: number) => Array.from({ length: n }, (_, i) => `${p}${i}@example.com`);
    const setup = multiplyElements(a, hashToElements(ids('s', 5000)));
    const request = multiplyElements(b, hashToElements(ids('c', 4500)));
    registry.postSetup(id, 'acme', setup);
    registry.postRequest(id, 'globex', request);
    expect(hex(registry.readRequest(id, 'acme'))).toEqual(hex(request));
    registry.postResponse(id, 'acme', multiplyElements(a, request));
    // The server has its request; the room no longer holds it.
    await expectRefusal(() => registry.readRequest(id, 'acme'), 'PSI_WRONG_STEP', 409);
    expect(hex(registry.readSetup(id, 'globex'))).toEqual(hex(setup));
    registry.postFinal(id, 'globex', multiplyElements(b, setup));
    await expectRefusal(() => registry.readSetup(id, 'globex'), 'PSI_WRONG_STEP', 409);
    registry.postKey(id, 'acme', a);
    registry.postKey(id, 'globex', b);
    const inputs = registry.countInputs(id, 'globex');
    for (const [sample, message] of [
      [inputs.requestSample, request],
      [inputs.setupSample, setup],
    ] as const) {
      expect(sample.positions).toHaveLength(PSI_VERIFY_SAMPLES);
      expect(new Set(sample.positions).size).toBe(PSI_VERIFY_SAMPLES);
      expect(Math.max(...sample.positions)).toBeLessThan(message.length / 32);
      sample.positions.forEach((p, k) =>
        expect(
          Buffer.from(sample.elements.subarray(k * 32, (k + 1) * 32)).equals(message.subarray(p * 32, (p + 1) * 32)),
        ).toBe(true),
      );
    }
    // Two sessions' samples are drawn independently: a member cannot learn one and reuse it.
    const other = new PsiSessionRegistry();
    const second = other.open('c', rule, 'globex').id;
    other.postSetup(second, 'acme', setup);
    other.postRequest(second, 'globex', request);
    other.postResponse(second, 'acme', multiplyElements(a, request));
    other.postFinal(second, 'globex', multiplyElements(b, setup));
    other.postKey(second, 'acme', a);
    other.postKey(second, 'globex', b);
    expect([...other.countInputs(second, 'globex').requestSample.positions]).not.toEqual([
      ...inputs.requestSample.positions,
    ]);
  });
});
