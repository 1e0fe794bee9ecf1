import { afterAll, describe, expect, it } from 'vitest';
import { normaliseIdentifiers } from '../../src/psi/identifier-normalisation.ts';
import { inMemoryPsiChannel } from '../../src/psi/in-memory-transport.ts';
import { runPsiClient } from '../../src/psi/psi-client-party.ts';
import type { PsiPartyOptions } from '../../src/psi/psi-party-options.ts';
import { parsePsiRule } from '../../src/psi/psi-rules.ts';
import { runPsiServer } from '../../src/psi/psi-server-party.ts';
import { PsiSessionRegistry } from '../../src/psi/session-registry.ts';
import { PsiWorkerPool } from '../../src/psi/worker-pool.ts';
import { expectRefusal, seeded } from './helpers.ts';

// One pool for the file: worker start-up (tsx + WASM) costs more than these small sets.
const pool = new PsiWorkerPool({ size: 2 });
afterAll(() => pool.close());

function randomSets(seed: number, serverSize: number, clientSize: number, universe: number) {
  const random = seeded(seed);
  const pick = (n: number) => Array.from({ length: n }, () => `user${Math.floor(random() * universe)}@example.com`);
  return { server: pick(serverSize), client: pick(clientSize) };
}

/** What a plain Set intersection says, after the same normalisation. */
function expected(server: readonly string[], client: readonly string[]) {
  const serverSet = new Set(normaliseIdentifiers(server, 'email').values);
  const normalisedClient = normaliseIdentifiers(client, 'email');
  const rows = client.flatMap((_, row) => {
    const value = normalisedClient.values[normalisedClient.rowValue[row] ?? -1];
    return value !== undefined && serverSet.has(value) ? [row] : [];
  });
  return { size: normalisedClient.values.filter((v) => serverSet.has(v)).length, rows };
}

/** Runs both members through the real relay (registry) in memory. */
async function intersect(
  server: readonly string[],
  client: readonly string[],
  options: Partial<PsiPartyOptions> & { relayReveal?: boolean } = {},
) {
  const reveal = options.revealIntersection ?? false;
  const rule = parsePsiRule({
    server: 'acme',
    client: 'globex',
    minSetSize: 2,
    maxSessionsPerDay: 5,
    sessionTtlSeconds: 600,
    normalisation: 'email',
    exactCount: true,
    revealIntersection: options.relayReveal ?? reveal,
  });
  const registry = new PsiSessionRegistry();
  const { id } = registry.open('collab', rule, 'globex', 'client');
  const channel = inMemoryPsiChannel((kind, bytes) => {
    if (kind === 'setup') registry.postSetup(id, 'acme', bytes);
    if (kind === 'request') registry.postRequest(id, 'globex', bytes);
    if (kind === 'response') registry.postResponse(id, 'acme', bytes);
    return bytes;
  });
  const party: PsiPartyOptions = {
    revealIntersection: reveal,
    minSetSize: 2,
    workers: pool,
    chunkSize: 97,
    ...options,
  };
  const [serverResult, clientResult] = await Promise.all([
    runPsiServer(normaliseIdentifiers(server, 'email'), channel.server, party),
    runPsiClient(normaliseIdentifiers(client, 'email'), channel.client, party),
  ]);
  return { serverResult, clientResult, view: registry.view(id, 'globex') };
}

describe('PSI protocol over worker threads', () => {
  it('reveals exactly the plain Set intersection, as original rows, with duplicates and case variants', async () => {
    const { server, client } = randomSets(1, 250, 300, 550);
    client.push(' USER1@example.com', client[0] ?? '', 'not-an-email', 'User2@Example.com ');
    const { clientResult, serverResult, view } = await intersect(server, client, { revealIntersection: true });
    const truth = expected(server, client);
    expect(clientResult.size).toBe(truth.size);
    expect(clientResult.indices).toEqual(truth.rows);
    expect(serverResult.clientSetSize).toBe(normaliseIdentifiers(client, 'email').values.length);
    expect(view).toMatchObject({ state: 'response-posted', serverSetSize: serverResult.serverSetSize });
  });

  it('gives only the size by default, equal to the Set intersection', async () => {
    const { server, client } = randomSets(2, 200, 200, 330);
    const { clientResult } = await intersect(server, client);
    expect(clientResult.size).toBe(expected(server, client).size);
    expect(clientResult.indices).toBeUndefined();
  });

  it('stays exact when the client set is far larger than the server set (upstream issue #143)', async () => {
    const { server, client } = randomSets(3, 20, 600, 1200);
    const { clientResult } = await intersect(server, client, { revealIntersection: true });
    const truth = expected(server, client);
    expect(clientResult.size).toBe(truth.size);
    expect(clientResult.indices).toEqual(truth.rows);
  });

  it('gives the same answer on one worker and unchunked as on the pool', async () => {
    const { server, client } = randomSets(4, 120, 120, 200);
    const single = new PsiWorkerPool({ size: 1 });
    try {
      const one = await intersect(server, client, { revealIntersection: true, workers: single, chunkSize: 10_000 });
      const many = await intersect(server, client, { revealIntersection: true, chunkSize: 31 });
      expect(many.clientResult.indices).toEqual(one.clientResult.indices);
      expect(one.clientResult.indices).toEqual(expected(server, client).rows);
    } finally {
      await single.close();
    }
  });

  it('refuses sets below the minimum, empty sets and bad rates before any worker runs', async () => {
    const channel = inMemoryPsiChannel();
    const two = normaliseIdentifiers(['a@x.io', 'b@x.io'], 'email');
    await expectRefusal(
      runPsiServer(normaliseIdentifiers([], 'email'), channel.server, {
        revealIntersection: false,
        minSetSize: 2,
        workers: pool,
      }),
      'PSI_SET_TOO_SMALL',
    );
    await expectRefusal(
      runPsiClient(normaliseIdentifiers(['a@x.io', 'A@x.io'], 'email'), channel.client, {
        revealIntersection: false,
        minSetSize: 2,
        workers: pool,
      }),
      'PSI_SET_TOO_SMALL',
    );
    for (const fpr of [0, 1, Number.NaN]) {
      await expectRefusal(
        runPsiServer(two, channel.server, {
          revealIntersection: false,
          minSetSize: 2,
          falsePositiveRate: fpr,
          workers: pool,
        }),
        'PSI_INVALID_FALSE_POSITIVE_RATE',
      );
    }
  });

  it('refuses a reveal request the rule does not allow, at the relay and at the server', async () => {
    const { server, client } = randomSets(5, 50, 50, 80);
    await expectRefusal(
      intersect(server, client, { revealIntersection: true, relayReveal: false }),
      'PSI_REVEAL_MISMATCH',
      422,
    );
    const channel = inMemoryPsiChannel();
    const serving = runPsiServer(normaliseIdentifiers(server, 'email'), channel.server, {
      revealIntersection: false,
      minSetSize: 2,
      workers: pool,
    });
    void runPsiClient(normaliseIdentifiers(client, 'email'), channel.client, {
      revealIntersection: true,
      minSetSize: 2,
      workers: pool,
    }).catch(() => undefined);
    await expectRefusal(serving, 'PSI_REVEAL_MISMATCH', 422);
  });

  it('reports a request whose points psi.js rejects as a malformed message, and the pool survives', async () => {
    const { server, client } = randomSets(6, 40, 40, 60);
    const channel = inMemoryPsiChannel((kind, bytes) => {
      if (kind !== 'request') return bytes;
      const tampered = bytes.slice();
      tampered.fill(0xff, 20, 52);
      return tampered;
    });
    const options = { revealIntersection: false, minSetSize: 2, workers: pool };
    const serving = runPsiServer(normaliseIdentifiers(server, 'email'), channel.server, options);
    void runPsiClient(normaliseIdentifiers(client, 'email'), channel.client, options).catch(() => undefined);
    await expectRefusal(serving, 'PSI_MALFORMED_MESSAGE', 400);
    const again = await intersect(server, client);
    expect(again.clientResult.size).toBe(expected(server, client).size);
  });

  it('reports progress per phase up to the element count', async () => {
    const { server, client } = randomSets(7, 120, 100, 200);
    const seen = new Map<string, number[]>();
    const onProgress = (phase: string, done: number, total: number) => seen.set(phase, [done, total]);
    await intersect(server, client, { onProgress });
    const clientSize = normaliseIdentifiers(client, 'email').values.length;
    expect(seen.get('request')).toEqual([clientSize, clientSize]);
    expect(seen.get('finalise')).toEqual([clientSize, clientSize]);
    expect(seen.get('setup')?.[0]).toBe(normaliseIdentifiers(server, 'email').values.length);
  });
});
