import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { canonicalJson, sha256Hex } from '../../src/crypto/hashing.ts';
import { cli, keyFile } from '../support/cli.ts';
import { refusal } from '../support/refusal.ts';
import { startTestRoom, type TestRoom } from '../support/test-room.ts';

const path = '/v1/collaborations/demo/psi';
const rooms: TestRoom[] = [];
afterAll(() => Promise.all(rooms.map((r) => r.close())));

async function room(edit?: Parameters<typeof startTestRoom>[0]): Promise<TestRoom> {
  const t = await startTestRoom(edit);
  rooms.push(t);
  await t.acceptAll();
  return t;
}

const emails = async (file: string) =>
  new Set(
    (await readFile(file, 'utf8'))
      .split('\n')
      .slice(1)
      .map((l) => l.replace(/^"|"$/g, '').normalize('NFC').trim().toLowerCase())
      .filter(Boolean),
  );

type Entry = { action: string; details: Record<string, unknown> };
const auditOf = async (t: TestRoom) =>
  (await t.client('acme-officer').send<{ entries: Entry[] }>('GET', '/v1/collaborations/demo/audit')).entries;

describe('room-counted PSI through a running room', () => {
  it('two CLI processes get the same noisy count, the one the room audited, near the plain intersection', async () => {
    const t = await room();
    const advertiser = resolve('fixtures/psi_advertiser_emails.csv');
    const publisher = resolve('fixtures/psi_publisher_emails.csv');
    const [a, p] = [await emails(advertiser), await emails(publisher)];
    const truth = [...a].filter((v) => p.has(v)).length;
    let session!: (id: string) => void;
    const opened = new Promise<string>((r) => (session = r));
    const common = ['--collab', 'demo', '--column', 'email', '--url', t.baseUrl];
    const server = cli(
      [
        'psi',
        'serve',
        ...common,
        '--key',
        await keyFile(t, 'northwind-provider'),
        '--file',
        publisher,
        '--partner',
        'acme',
      ],
      (line) => {
        const match = /^session: (\S+)/.exec(line);
        if (match) session(match[1] as string);
      },
    );
    const client = cli([
      'psi',
      'join',
      ...common,
      '--key',
      await keyFile(t, 'acme-analyst'),
      '--file',
      advertiser,
      '--session',
      await opened,
      '--json',
    ]);
    const [serverOut, clientOut] = await Promise.all([server, client]);
    // The client pipes JSON (status on stderr); the server prints the same count for a person.
    const joined = JSON.parse(clientOut) as { countedBy: string; release: { count: number; interval: number[] } };
    expect(joined).toMatchObject({ countedBy: 'room', serverSetSize: p.size, clientSetSize: a.size });
    const { count, interval } = joined.release;
    const [low, high] = interval;
    expect(serverOut).toContain(`intersection ≈ ${count.toLocaleString('en')} (95% interval`);
    expect(low).toBeLessThanOrEqual(count!);
    expect(high).toBeGreaterThanOrEqual(count!);
    expect(Math.abs(count! - truth)).toBeLessThan(60); // P[|Z| ≥ 60] < 10⁻¹² at the demo's ε 0.5
    const entries = await auditOf(t);
    const released = entries.find((e) => e.action === 'psi.released');
    // The audit, which every principal of the collaboration reads, attests the release by digest only.
    const { resultSha256, session: releasedSession } = joined.release as unknown as Record<string, string>;
    const {
      count: c,
      interval: i,
      confidence,
      epsilon,
      mechanism,
      scale,
    } = joined.release as unknown as Record<string, unknown>;
    expect(resultSha256).toBe(
      sha256Hex(
        canonicalJson({ session: releasedSession, count: c, interval: i, confidence, epsilon, mechanism, scale }),
      ),
    );
    expect(released?.details).toMatchObject({ resultSha256, epsilon: 0.5, confidence: 0.95 });
    expect(Object.keys(released!.details).sort()).toEqual(
      [
        'clientSetSize',
        'confidence',
        'client',
        'epsilon',
        'mechanism',
        'releaseTo',
        'resultSha256',
        'server',
        'serverSetSize',
        'session',
      ].sort(),
    );
    expect(entries.find((e) => e.action === 'psi.opened')?.details).toMatchObject({
      engine: 'native',
      count: 'room',
      epsilon: 0.5,
      epsilonSpent: 0.5,
      epsilonBudget: 5,
    });
    const id = await opened;
    expect(await refusal(t.client('acme-officer').send('GET', `${path}/${id}/result`))).toMatchObject({ status: 403 });
  }, 120_000);

  it('charges ε per session durably: past the pair’s budget opens are refused, across a restart too', async () => {
    const t = await room({
      edit: (p) => {
        p.psi![0]!.epsilon = 2;
        p.psi![0]!.epsilonBudget = 5;
      },
    });
    await t.client('acme-analyst').send('POST', path, { partner: 'northwind' });
    await t.client('northwind-provider').send('POST', path, { partner: 'acme' });
    const over = { status: 429, code: 'PSI_BUDGET_EXHAUSTED' };
    expect(await refusal(t.client('acme-analyst').send('POST', path, { partner: 'northwind' }))).toEqual(over);
    await t.restart();
    expect(
      await refusal(t.client('northwind-provider').send('POST', path, { partner: 'acme' }), { details: true }),
    ).toMatchObject({ ...over, details: { diagnostics: [expect.objectContaining({ rule: 'psi.epsilonBudget' })] } });
    // The exact count the rule also allows spends no ε (it is not a DP release); a refused open spends no session.
    await t.client('acme-analyst').send('POST', path, { partner: 'northwind', count: 'client' });
    const opens = (await auditOf(t)).filter((e) => e.action === 'psi.opened');
    expect(opens.map((e) => e.details['epsilonSpent'] ?? null)).toEqual([2, 4, null]);
    const [row] = await t.internals.state.all('SELECT coalesce(sum(opened), 0) AS n FROM psi_sessions_opened');
    expect(Number(row?.n)).toBe(3);
  });
});
