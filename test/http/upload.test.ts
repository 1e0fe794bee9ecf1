import { randomBytes } from 'node:crypto';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RoomRequestError } from '../../src/client/room-client.ts';
import { uploadFile } from '../../src/client/upload-file.ts';
import { startTestRoom, type TestRoom } from '../support/test-room.ts';
import { customersCsv } from '../support/fixture-csv.ts';
import { refusal } from '../support/refusal.ts';

let t: TestRoom;
// Random at run time, so the only place it can appear is where the room put the uploaded data.
const MARKER = `LEAK${randomBytes(12).toString('hex')}`;

async function writeCsv(name: string, text: string): Promise<string> {
  const path = join(t.dir, name);
  await writeFile(path, text);
  return path;
}

const upload = (file: string, principal = 'acme-provider', dataset = 'advertiser_customers') =>
  uploadFile({ client: t.client(principal), key: t.keys[principal]!, collaboration: 'demo', dataset, file });

async function liveRows(): Promise<number> {
  const result = await t.internals.engine.query('SELECT count(*) AS n FROM demo.advertiser_customers');
  return Number(result.rows[0]?.[0]);
}

const startedAt = Date.now();

/** Files under `dir` changed since this test file started (everything, with `all`). */
async function filesUnder(dir: string, all = false): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await filesUnder(path, all)));
    else if (entry.isFile() && (all || ((await stat(path).catch(() => undefined))?.mtimeMs ?? 0) >= startedAt - 1000))
      out.push(path);
  }
  return out;
}

beforeAll(async () => {
  t = await startTestRoom();
});
afterAll(async () => t.close());

describe('encrypted upload', () => {
  it('is refused while the collaboration is not yet accepted by every officer', async () => {
    const file = await writeCsv('early.csv', customersCsv(10));
    expect(await refusal(upload(file))).toEqual({ status: 409, code: 'COLLABORATION_INACTIVE' });
  });

  it('loads a signed, encrypted CSV into the room and records it in the audit chain', async () => {
    await t.acceptAll();
    const receipt = await upload(await writeCsv('v1.csv', customersCsv(300, { marker: MARKER })));
    expect(receipt).toMatchObject({ version: 1, rows: 300 });
    expect(await liveRows()).toBe(300);
    const audit = await t
      .client('acme-officer')
      .send<{ entries: { action: string }[] }>('GET', '/v1/collaborations/demo/audit');
    expect(audit.entries.map((e) => e.action)).toContain('dataset.uploaded');
  });

  it('never writes the plaintext to the data directory, the temp directory or /dev/shm', async () => {
    const places = [...(await filesUnder(t.config.dataDirectory, true)), ...(await filesUnder('/dev/shm'))];
    // The test's own input CSVs live in t.dir, outside the data directory; vite's cache holds no marker.
    const tmpFiles = (await filesUnder(tmpdir())).filter(
      (p) => !p.startsWith(t.dir) || p.startsWith(t.config.dataDirectory),
    );
    for (const path of [...places, ...tmpFiles]) {
      const content = await readFile(path).catch(() => Buffer.alloc(0));
      expect(content.includes(MARKER), path).toBe(false);
    }
    expect(places.some((p) => p.endsWith('.env'))).toBe(true);
  });

  it('refuses a provider of another member, and a principal without the provider role', async () => {
    const file = await writeCsv('v2.csv', customersCsv(50));
    expect(await refusal(upload(file, 'northwind-provider'))).toEqual({ status: 403, code: 'NOT_DATASET_OWNER' });
    expect(await refusal(upload(file, 'acme-analyst'))).toEqual({ status: 403, code: 'ROLE_REQUIRED' });
    expect(await liveRows()).toBe(300);
  });

  it('refuses a CSV whose header or types do not match the declared columns, keeping version 1', async () => {
    const swapped = customersCsv(20).replace('age_band,country', 'country,age_band');
    const badHeader = await writeCsv('bad-header.csv', swapped);
    await expect(upload(badHeader)).rejects.toThrow(/header/);
    const badType = await writeCsv(
      'bad-type.csv',
      customersCsv(20).replace(/,(\d+),([\d.]+),(\d)\n/, ',not-a-number,$2,$3\n'),
    );
    expect(await refusal(upload(badType))).toEqual({ status: 422, code: 'UPLOAD_MALFORMED_DATA' });
    const ragged = await writeCsv('ragged.csv', `${customersCsv(20)}only,three,fields\n`);
    expect(await refusal(upload(ragged))).toEqual({ status: 422, code: 'UPLOAD_MALFORMED_DATA' });
    expect(await liveRows()).toBe(300);
  });

  it('replaces the data atomically with the next version', async () => {
    const receipt = await upload(await writeCsv('v2.csv', customersCsv(120, { seed: 2 })));
    expect(receipt.version).toBe(2);
    expect(await liveRows()).toBe(120);
  });

  it('keeps the data directory owner-only: directories 0700, state file, WAL and every other file 0600', async () => {
    const modes: Record<string, number> = {};
    const walk = async (dir: string): Promise<void> => {
      modes[dir] = (await stat(dir)).mode & 0o777;
      for (const entry of await readdir(dir, { withFileTypes: true })) {
        if (entry.isDirectory()) await walk(join(dir, entry.name));
        else modes[join(dir, entry.name)] = (await stat(join(dir, entry.name))).mode & 0o777;
      }
    };
    // DuckDB deletes the WAL at a checkpoint (at 16 MiB of log, or at close) and creates it again at
    // the next write, on its own thread: that new file is the one a chmod at open cannot reach.
    await t.internals.state.all('CHECKPOINT');
    expect(await readdir(t.config.dataDirectory)).not.toContain('room-state.duckdb.wal');
    await t.client('acme-analyst').send('POST', '/v1/collaborations/demo/queries', {
      sql: 'SELECT country, count(*) AS n FROM advertiser_customers GROUP BY country',
    });
    await walk(t.config.dataDirectory);
    expect(Object.keys(modes)).toContain(join(t.config.dataDirectory, 'room-state.duckdb.wal'));
    for (const [path, mode] of Object.entries(modes)) {
      const isDirectory = (await stat(path)).isDirectory();
      expect(mode.toString(8), path).toBe(isDirectory ? '700' : '600');
    }
  });

  it('reloads the current version from its envelope after a restart', async () => {
    await t.restart();
    expect(await liveRows()).toBe(120);
  });
});

describe('what the room loads is what the manifest counts', () => {
  it("accepts trailing blank lines and CRLF: the client counts records as the room's DuckDB does", async () => {
    const trailing = await writeCsv('trailing-blank.csv', `${customersCsv(40, { seed: 3 })}\n\n`);
    expect(await upload(trailing)).toMatchObject({ version: 3, rows: 40 });
    const crlf = await writeCsv('crlf.csv', `${customersCsv(30, { seed: 4 }).replaceAll('\n', '\r\n')}\r\n`);
    expect(await upload(crlf)).toMatchObject({ version: 4, rows: 30 });
    expect(await liveRows()).toBe(30);
  });

  it('refuses NaN, infinite and beyond-±1e100 DOUBLE values, naming the column and counts but no value', async () => {
    const lines = customersCsv(30, { seed: 5 }).trimEnd().split('\n');
    const withValue = (i: number, value: string) => lines[i]!.replace(/,([\d.]+),(\d)$/, `,${value},$2`);
    const text = [
      lines[0],
      ...lines.slice(1, 26),
      withValue(26, 'NaN'),
      withValue(27, 'inf'),
      withValue(28, '4.2e217'),
      withValue(29, '-6.1e102'),
    ].join('\n');
    const refused = await refusal(upload(await writeCsv('unsafe-doubles.csv', `${text}\n`)), { details: true });
    expect(refused).toEqual({
      status: 422,
      code: 'UPLOAD_MALFORMED_DATA',
      details: {
        problem: 'unsafe-double',
        limit: 1e100,
        columns: [{ column: 'purchase_value', nonFinite: 2, beyondLimit: 2 }],
      },
    });
    expect(JSON.stringify(refused)).not.toMatch(/4\.2|6\.1/);
    expect(await liveRows()).toBe(30);
  });

  it("refuses a load with our own details (line, column, type), never DuckDB's text", async () => {
    const bad = await writeCsv(
      'bad-units.csv',
      customersCsv(20).replace(/,(\d+),([\d.]+),(\d)\n/, `,${MARKER},$2,$3\n`),
    );
    const refused: unknown = await upload(bad).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(refused).toBeInstanceOf(RoomRequestError);
    const error = refused as RoomRequestError;
    expect({ code: error.code, details: error.details }).toEqual({
      code: 'UPLOAD_MALFORMED_DATA',
      details: { problem: 'type-mismatch', line: 2, column: 'purchases', expectedType: 'INTEGER' },
    });
    expect(JSON.stringify({ message: error.message, details: error.details })).not.toMatch(
      new RegExp(`${MARKER}|Conversion|CSV Error|Original Line|read_csv`),
    );
  });

  it('refuses a header-only CSV, which would empty the dataset, unless the uploader signed allowEmpty', async () => {
    const empty = await writeCsv('header-only.csv', `${customersCsv(0)}`);
    expect(await refusal(upload(empty), { details: true })).toEqual({
      status: 422,
      code: 'UPLOAD_EMPTY',
      details: { rows: 0 },
    });
    expect(await liveRows()).toBe(30);
    const allowed = await uploadFile({
      client: t.client('acme-provider'),
      key: t.keys['acme-provider']!,
      collaboration: 'demo',
      dataset: 'advertiser_customers',
      file: empty,
      allowEmpty: true,
    });
    expect(allowed).toMatchObject({ version: 5, rows: 0 });
    expect(await liveRows()).toBe(0);
  });
});
