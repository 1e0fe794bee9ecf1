import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RoomClient } from '../../src/client/room-client.ts';
import { uploadFile } from '../../src/client/upload-file.ts';
import { toBase64 } from '../../src/crypto/bytes.ts';
import { sign } from '../../src/crypto/signatures.ts';
import { acceptanceSigningBytes } from '../../src/room/policy-acceptance.ts';
import { customersCsv } from '../support/fixture-csv.ts';
import { demoPolicyWithFreshKeys } from '../support/test-room.ts';
import { sealedEnvelope } from '../support/sealed-upload.ts';
import { StagingArea, stagingParent } from '../../src/upload/staging-area.ts';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** A real room in its own process (npm start's code path), so it can be killed with SIGKILL. */
function startRoomProcess(dir: string, port: number): Promise<ChildProcess> {
  return new Promise((ready, fail) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', resolve('src/cli/main.ts'), 'serve', '--port', String(port)],
      {
        env: {
          ...process.env,
          CLEANROOM_DATA_DIR: join(dir, 'data'),
          CLEANROOM_POLICIES_DIR: join(dir, 'policies'),
          CLEANROOM_SQL_DIR: join(dir, 'sql'),
          CLEANROOM_LOG_LEVEL: 'info',
          CLEANROOM_MEMORY_LIMIT: '1GB',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('room listening')) ready(child);
    });
    child.on('exit', (code) => fail(new Error(`room exited ${code}: ${out.slice(-400)}`)));
  });
}

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    if (e.isDirectory()) out.push(...(await filesUnder(join(dir, e.name))));
    else out.push(join(dir, e.name));
  }
  return out;
}

describe('a room killed mid-upload', () => {
  it('restarts with the old version intact and queryable, no partial envelope or staging directory left', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cleanroom-crash-'));
    dirs.push(dir);
    const { policy, keys } = await demoPolicyWithFreshKeys();
    await mkdir(join(dir, 'policies'), { recursive: true });
    await mkdir(join(dir, 'sql'), { recursive: true });
    await writeFile(join(dir, 'policies', 'demo.json'), JSON.stringify(policy));
    const port = 20000 + Math.floor(Math.random() * 20000);
    const url = `http://127.0.0.1:${port}`;
    let room = await startRoomProcess(dir, port);
    const client = (p: string) => new RoomClient(url, keys[p]);
    try {
      const status = await client('acme-officer').send<{ status: { policyHash: string } }>(
        'GET',
        '/v1/collaborations/demo',
      );
      for (const officer of ['acme-officer', 'northwind-officer']) {
        await client(officer).send('POST', '/v1/collaborations/demo/acceptances', {
          policyHash: status.status.policyHash,
          signature: toBase64(sign(acceptanceSigningBytes('demo', status.status.policyHash), keys[officer]!.secretKey)),
        });
      }
      const v1 = join(dir, 'v1.csv');
      await writeFile(v1, customersCsv(400));
      await uploadFile({
        client: client('acme-provider'),
        key: keys['acme-provider']!,
        collaboration: 'demo',
        dataset: 'advertiser_customers',
        file: v1,
      });

      // Version 2: send the first part of a valid envelope, then kill the room while it waits for the rest.
      const envelope = await sealedEnvelope({ client }, keys['acme-provider']!, customersCsv(20_000, { seed: 5 }), {
        version: 2,
        chunkSize: 64 * 1024,
      });
      let sent = 0;
      const half = envelope.length / 2;
      const slow = new ReadableStream<Uint8Array>({
        async pull(controller) {
          if (sent >= half) return new Promise(() => undefined); // hang: the rest never comes
          controller.enqueue(envelope.subarray(sent, sent + 64 * 1024));
          sent += 64 * 1024;
        },
      });
      const pending = client('acme-provider')
        .stream('PUT', '/v1/collaborations/demo/datasets/advertiser_customers', slow)
        .catch((e: unknown) => e);
      for (
        let i = 0;
        i < 100 && !(await filesUnder(join(dir, 'data', 'envelopes'))).some((f) => f.endsWith('.partial'));
        i++
      )
        await new Promise((r) => setTimeout(r, 50));
      expect((await filesUnder(join(dir, 'data', 'envelopes'))).some((f) => f.endsWith('.partial'))).toBe(true);
      // Mid-load: DuckDB is reading the plaintext pipe in the killed room's staging directory.
      const killedStaging = async () =>
        (await readdir(stagingParent()))
          .filter((n) => n.startsWith(`cleanroom-staging-${room.pid}-`))
          .map((n) => join(stagingParent(), n));
      for (let i = 0; i < 100 && (await filesUnder((await killedStaging())[0] ?? '/nonexistent')).length === 0; i++)
        await new Promise((r) => setTimeout(r, 50));
      const [staging] = await killedStaging();
      expect(await readdir(staging ?? '/nonexistent')).toEqual([expect.stringMatching(/\.pipe$/)]);
      room.kill('SIGKILL');
      await pending;

      room = await startRoomProcess(dir, port);
      // The next start sweeps the dead room's staging directory; its own is named for its own pid.
      expect(existsSync(staging as string)).toBe(false);
      const info = await client('acme-officer').send<{ current: { version: number; rows: number } }>(
        'GET',
        '/v1/collaborations/demo/datasets/advertiser_customers',
      );
      expect(info.current).toMatchObject({ version: 1, rows: 400 });
      const answer = await client('acme-analyst').send<{ rows: unknown[][] }>(
        'POST',
        '/v1/collaborations/demo/queries',
        { sql: 'SELECT count(*) AS n FROM advertiser_customers' },
      );
      expect(answer.rows).toEqual([[400]]);
      expect((await filesUnder(join(dir, 'data', 'envelopes'))).filter((f) => !f.endsWith('.env'))).toEqual([]);
      const audit = await client('acme-officer').send<{ entries: { action: string }[] }>(
        'GET',
        '/v1/collaborations/demo/audit',
      );
      expect(audit.entries.filter((e) => e.action === 'dataset.uploaded')).toHaveLength(1);
    } finally {
      const exited = new Promise((resolve) =>
        room.exitCode === null && room.signalCode === null ? room.once('exit', resolve) : resolve(undefined),
      );
      room.kill('SIGKILL');
      await exited;
      // The last room was killed too: remove its staging directory rather than leave it to the next start.
      await StagingArea.sweepStale();
    }
  }, 120_000);
});
