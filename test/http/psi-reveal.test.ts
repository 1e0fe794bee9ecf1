import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPsi } from '../../src/client/run-psi.ts';
import { startTestRoom, type TestRoom } from '../support/test-room.ts';

let t: TestRoom;

beforeAll(async () => {
  t = await startTestRoom({
    edit: (p) => {
      p.psi![0]!.revealIntersection = true;
    },
  });
  await t.acceptAll();
});
afterAll(async () => t.close());

describe('PSI with a revealing rule', () => {
  it("writes exactly the client's own matching rows with --out, duplicates and case variants included", async () => {
    // Server: people 0..1199. Client: people 600..1799, with a shouted duplicate of person 600.
    const server = join(t.dir, 'server.csv');
    const client = join(t.dir, 'client.csv');
    const out = join(t.dir, 'matches.csv');
    await writeFile(
      server,
      `email,segment\n${Array.from({ length: 1200 }, (_, i) => `person${i}@example.com,s${i % 3}`).join('\n')}\n`,
    );
    const clientRows = Array.from({ length: 1200 }, (_, i) => `person${600 + i}@example.com,${i}`);
    await writeFile(client, `email,id\n${[...clientRows, ' PERSON600@Example.com ,dup'].join('\n')}\n`);
    let announce!: (id: string) => void;
    const opened = new Promise<string>((r) => {
      announce = r;
    });
    const [, joined] = await Promise.all([
      runPsi({
        client: t.client('northwind-provider'),
        collaboration: 'demo',
        side: 'serve',
        partner: 'acme',
        file: server,
        column: 'email',
        onSession: (s) => announce(s.id),
      }),
      opened.then((session) =>
        runPsi({
          client: t.client('acme-analyst'),
          collaboration: 'demo',
          side: 'join',
          session,
          file: client,
          column: 'email',
          out,
        }),
      ),
    ]);
    expect(joined.intersectionSize).toBe(600);
    expect(joined.matchingRows).toBe(601);
    const written = (await readFile(out, 'utf8')).trim().split('\n');
    expect(written[0]).toBe('email,id');
    expect(written).toHaveLength(602);
    expect(written.slice(1, 601).map((l) => l.split(',')[0])).toEqual(
      Array.from({ length: 600 }, (_, i) => `person${600 + i}@example.com`),
    );
    expect(written[601]).toContain('dup');
  }, 120_000);
});
