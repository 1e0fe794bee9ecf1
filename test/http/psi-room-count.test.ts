import { afterAll, describe, expect, it } from 'vitest';
import { canonicalJson, sha256Hex } from '../../src/crypto/hashing.ts';
import { ADVERTISER_EMAILS, emailSet, psiThroughCli, PUBLISHER_EMAILS } from '../support/psi-cli.ts';
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

type Entry = { action: string; details: Record<string, unknown> };
const auditOf = async (t: TestRoom) =>
  (await t.client('acme-officer').send<{ entries: Entry[] }>('GET', '/v1/collaborations/demo/audit')).entries;

describe('room-counted PSI through a running room', () => {
  it('two CLI processes get the same noisy count, the one the room audited, near the plain intersection', async () => {
    const t = await room();
    const [a, p] = [await emailSet(ADVERTISER_EMAILS), await emailSet(PUBLISHER_EMAILS)];
    const truth = [...a].filter((v) => p.has(v)).length;
    const { serverOut, clientOut, session: id } = await psiThroughCli(t, { joinArgs: ['--json'] });
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

  it('refuses an exact count the rule does not allow, before counting a session or spending ε', async () => {
    const t = await room({
      edit: (p) => {
        p.psi![0]!.exactCount = false;
      },
    });
    expect(
      await refusal(t.client('acme-analyst').send('POST', path, { partner: 'northwind', count: 'client' }), {
        details: true,
      }),
    ).toMatchObject({
      status: 403,
      code: 'PSI_EXACT_COUNT_NOT_ALLOWED',
      details: { diagnostics: [expect.objectContaining({ rule: 'psi.exactCount' })] },
    });
    const [opened] = await t.internals.state.all('SELECT coalesce(sum(opened), 0) AS n FROM psi_sessions_opened');
    const [spent] = await t.internals.state.all('SELECT count(*) AS n FROM psi_epsilon_spent');
    expect([Number(opened?.n), Number(spent?.n)]).toEqual([0, 0]);
    expect((await auditOf(t)).filter((e) => e.action === 'psi.opened')).toEqual([]);
    // The room-counted session the rule does allow still opens.
    expect(await t.client('acme-analyst').send('POST', path, { partner: 'northwind' })).toMatchObject({
      engine: 'native',
      count: 'room',
    });
  });
});
