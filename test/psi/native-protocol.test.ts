import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cryptoRandomSource } from '../../src/privacy/index.ts';
import { releasePsiCount } from '../../src/release/psi-count-release.ts';
import { normaliseIdentifiers } from '../../src/psi/identifier-normalisation.ts';
import { inMemoryNativeChannel, inMemoryPsiChannel } from '../../src/psi/in-memory-transport.ts';
import { hashToElements, multiplyElements, sodiumReady } from '../../src/psi/native-group.ts';
import { hashIdentifiers } from '../../src/psi/native-hashing.ts';
import { runNativeClient, runNativeServer } from '../../src/psi/native-parties.ts';
import { runPsiClient } from '../../src/psi/psi-client-party.ts';
import { parsePsiRule } from '../../src/psi/psi-rules.ts';
import { runPsiServer } from '../../src/psi/psi-server-party.ts';
import { PsiSessionRegistry } from '../../src/psi/session-registry.ts';
import { PsiWorkerPool } from '../../src/psi/worker-pool.ts';
import { PsiRoomCounter } from '../../src/room/psi-room-count.ts';
import { expectRefusal, seeded } from './helpers.ts';

const native = new PsiWorkerPool({ size: 2, engine: 'native' });
const psijs = new PsiWorkerPool({ size: 2 });
const counter = new PsiRoomCounter();
beforeAll(() => sodiumReady);
afterAll(() => Promise.all([native.close(), psijs.close(), counter.close()]));

const rule = (extra: Record<string, unknown> = {}) =>
  parsePsiRule({
    server: 'acme',
    client: 'globex',
    minSetSize: 2,
    maxSessionsPerDay: 5,
    sessionTtlSeconds: 600,
    normalisation: 'email',
    epsilon: 0.5,
    exactCount: true,
    ...extra,
  });
const members = { server: 'acme', client: 'globex' };

function randomSets(seed: number, serverSize: number, clientSize: number, universe: number) {
  const random = seeded(seed);
  const pick = (n: number) => Array.from({ length: n }, () => `user${Math.floor(random() * universe)}@example.com`);
  return { server: pick(serverSize), client: pick(clientSize) };
}

const plain = (server: readonly string[], client: readonly string[]) => {
  const s = new Set(normaliseIdentifiers(server, 'email').values);
  return normaliseIdentifiers(client, 'email').values.filter((v) => s.has(v)).length;
};

/** Both members on the native engine through an in-memory room: the registry's checks and the room's count. */
async function roomCounted(server: readonly string[], client: readonly string[], room = counter) {
  const registry = new PsiSessionRegistry();
  const { id } = registry.open('collab', rule({ releaseTo: ['acme', 'globex'] }), 'globex');
  let trueCount: number | undefined;
  const channel = inMemoryNativeChannel(registry, id, members, async () => {
    const outcome = await room.count(registry, id, 'globex', cryptoRandomSource);
    if ('trueCount' in outcome) trueCount = outcome.trueCount;
  });
  const options = { minSetSize: 2, workers: native, chunkSize: 97 };
  const [serverOutcome, clientOutcome] = await Promise.all([
    runNativeServer(await hashIdentifiers(native, [server], 'email'), channel.server, options),
    runNativeClient(await hashIdentifiers(native, [client], 'email'), channel.client, options),
  ]);
  return { serverOutcome, clientOutcome, trueCount, view: registry.view(id, 'acme') };
}

describe('room-counted PSI on the native engine', () => {
  it('counts exactly the plain Set intersection, which psi.js also gives on the same sets', async () => {
    for (const [seed, s, c, universe] of [
      [1, 400, 300, 900],
      [2, 50, 700, 800],
      [3, 300, 300, 100_000],
    ] as const) {
      const { server, client } = randomSets(seed, s, c, universe);
      const { trueCount, clientOutcome, serverOutcome, view } = await roomCounted(server, client);
      const truth = plain(server, client);
      expect(trueCount).toBe(truth);
      const registry = new PsiSessionRegistry();
      const { id } = registry.open('collab', rule(), 'globex', 'client');
      const channel = inMemoryPsiChannel((kind, bytes) => {
        if (kind === 'setup') registry.postSetup(id, 'acme', bytes);
        if (kind === 'request') registry.postRequest(id, 'globex', bytes);
        if (kind === 'response') registry.postResponse(id, 'acme', bytes);
        return bytes;
      });
      const party = { revealIntersection: false, minSetSize: 2, workers: psijs };
      const [, exact] = await Promise.all([
        runPsiServer(normaliseIdentifiers(server, 'email'), channel.server, party),
        runPsiClient(normaliseIdentifiers(client, 'email'), channel.client, party),
      ]);
      expect(exact.size).toBe(truth);
      // Released to both members the rule names: the same noisy count, its interval around it.
      expect(serverOutcome.release).toEqual(clientOutcome.release);
      const release = clientOutcome.release!;
      expect(release.interval[0]).toBeLessThanOrEqual(release.count);
      expect(release.interval[1]).toBeGreaterThanOrEqual(release.count);
      expect(Math.abs(release.count - truth)).toBeLessThan(60); // P[|Z| ≥ 60] < 10⁻¹² at ε = 0.5
      expect(view).toMatchObject({ state: 'released', engine: 'native', count: 'room' });
      expect(view).not.toHaveProperty('result');
    }
  });

  it('makes the padding probe noise: one target plus 999 padding moves the count by 1, released under ε', async () => {
    const target = 'target@example.com';
    const padding = Array.from({ length: 999 }, (_, i) => `pad-${i}-${randomBytes(4).toString('hex')}@example.org`);
    const others = Array.from({ length: 1500 }, (_, i) => `customer${i}@example.com`);
    const withTarget = await roomCounted([...others, target], [target, ...padding]);
    const without = await roomCounted([...others, 'someone-else@example.com'], [target, ...padding]);
    expect(withTarget.trueCount).toBe(1);
    expect(without.trueCount).toBe(0);
    // What the prober sees is releasePsiCount(1) against releasePsiCount(0): every outcome's
    // probability may differ by at most e^ε. 40,000 draws each, checked where both are frequent.
    const epsilon = 0.5;
    const draws = 40_000;
    const histogram = (common: number) => {
      const counts = new Map<number, number>();
      for (let i = 0; i < draws; i += 1) {
        const { count } = releasePsiCount(common, 1000, epsilon, cryptoRandomSource);
        counts.set(count, (counts.get(count) ?? 0) + 1);
      }
      return counts;
    };
    const present = histogram(1);
    const absent = histogram(0);
    for (const [outcome, n] of present) {
      const m = absent.get(outcome) ?? 0;
      if (n < 1000 || m < 1000) continue;
      expect(Math.log(n / m)).toBeLessThan(epsilon * 1.15);
      expect(Math.log(m / n)).toBeLessThan(epsilon * 1.15);
    }
    // The best guess ("present" when the count is at least 1) is right at most e^ε/(1+e^ε) ≈ 62% of the time.
    const said = (h: Map<number, number>, yes: boolean) =>
      [...h].filter(([o]) => o >= 1 === yes).reduce((sum, [, n]) => sum + n, 0) / draws;
    const accuracy = (said(present, true) + said(absent, false)) / 2;
    expect(accuracy).toBeLessThan(Math.exp(epsilon) / (1 + Math.exp(epsilon)) + 0.01);
    expect(accuracy).toBeGreaterThan(0.5);
  });

  it('refuses the exact count where the rule does not allow it, and the count to members not named', async () => {
    const registry = new PsiSessionRegistry();
    await expectRefusal(
      () => registry.open('c', rule({ exactCount: false }), 'globex', 'client'),
      'PSI_EXACT_COUNT_NOT_ALLOWED',
      403,
    );
    const { server, client } = randomSets(9, 40, 40, 60);
    const only = new PsiSessionRegistry();
    const { id } = only.open('c', rule(), 'globex');
    const channel = inMemoryNativeChannel(only, id, members, async () => {
      await counter.count(only, id, 'globex', cryptoRandomSource);
    });
    const options = { minSetSize: 2, workers: native };
    const [serverOutcome, clientOutcome] = await Promise.all([
      runNativeServer(await hashIdentifiers(native, [server], 'email'), channel.server, options),
      runNativeClient(await hashIdentifiers(native, [client], 'email'), channel.client, options),
    ]);
    expect(serverOutcome.release).toBeUndefined();
    expect(clientOutcome.release).toBeDefined();
    await expectRefusal(() => only.readResult(id, 'acme'), 'PSI_NOT_RELEASED_TO_MEMBER', 403);
  });
});

/** A hand-driven session: the test plays both members so it can deviate where an attacker would. */
function manualSession(verifySamples?: number) {
  const registry = new PsiSessionRegistry(verifySamples === undefined ? {} : { verifySamples });
  const { id } = registry.open('collab', rule(), 'globex');
  return { registry, id };
}

const key = () => new Uint8Array(randomBytes(32));
const slice = (packed: Uint8Array, i: number) => packed.subarray(i * 32, (i + 1) * 32);

describe('the room’s check of a room-counted session', () => {
  const target = 'target@example.com';
  const serverSet = [...Array.from({ length: 300 }, (_, i) => `s${i}@example.com`), target];
  const padding = Array.from({ length: 200 }, (_, i) => `pad${i}@example.org`);

  /**
   * The amplification probe: the client asks for the target under two of its own keys and puts the
   * target's setup element under both into its final message, so one identifier would count twice.
   * (The test knows where the target sits in the setup; a real attacker must guess, which the
   * room's sampled check makes a losing bet.)
   */
  function amplifiedProbe(registry: PsiSessionRegistry, id: string) {
    const a = key();
    const b1 = key();
    const b2 = key();
    const setup = multiplyElements(a, hashToElements(serverSet));
    registry.postSetup(id, 'acme', setup);
    const hT = hashToElements([target]);
    const request = Buffer.concat([
      multiplyElements(b1, hT),
      multiplyElements(b2, hT),
      multiplyElements(b1, hashToElements(padding)),
    ]);
    registry.postRequest(id, 'globex', request);
    registry.postResponse(id, 'acme', multiplyElements(a, request));
    const final = Buffer.from(multiplyElements(b1, setup));
    final.set(multiplyElements(b2, slice(setup, serverSet.length - 1)), 0); // position 0 now holds the target again
    registry.postFinal(id, 'globex', final);
    registry.postKey(id, 'acme', a);
    registry.postKey(id, 'globex', b1);
  }

  it('would count one identifier twice without the check; with it, names the client and releases nothing', async () => {
    const loose = manualSession(0);
    amplifiedProbe(loose.registry, loose.id);
    const amplified = await counter.count(loose.registry, loose.id, 'globex', cryptoRandomSource);
    expect(amplified).toMatchObject({ trueCount: 2 });

    const { registry, id } = manualSession();
    amplifiedProbe(registry, id);
    const outcome = await counter.count(registry, id, 'globex', cryptoRandomSource);
    expect(outcome).toEqual({
      view: expect.objectContaining({ state: 'violated', violators: ['client'] }),
      violators: ['client'],
    });
    await expectRefusal(() => registry.readResult(id, 'globex'), 'PSI_WRONG_STEP', 409);
  });

  it('names a server whose response was not its revealed key applied to the request', async () => {
    const { registry, id } = manualSession();
    const a = key();
    const b = key();
    const setup = multiplyElements(a, hashToElements(serverSet));
    registry.postSetup(id, 'acme', setup);
    const request = multiplyElements(b, hashToElements(padding));
    registry.postRequest(id, 'globex', request);
    const response = Buffer.from(multiplyElements(a, request));
    response.set(multiplyElements(key(), slice(request, 7)), 7 * 32);
    registry.postResponse(id, 'acme', response);
    registry.postFinal(id, 'globex', multiplyElements(b, setup));
    await expectRefusal(() => registry.postKey(id, 'globex', new Uint8Array(31)), 'PSI_MALFORMED_MESSAGE', 400);
    registry.postKey(id, 'acme', a);
    registry.postKey(id, 'globex', b);
    const outcome = await counter.count(registry, id, 'globex', cryptoRandomSource);
    expect(outcome).toMatchObject({ violators: ['server'] });
  });

  it('refuses keys before both doubly-blinded sets are in, and malformed elements at every step', async () => {
    const { registry, id } = manualSession();
    const a = key();
    const setup = multiplyElements(a, hashToElements(serverSet));
    const duplicate = Buffer.concat([setup, slice(setup, 3)]);
    await expectRefusal(() => registry.postSetup(id, 'acme', duplicate), 'PSI_MALFORMED_MESSAGE', 400);
    const nonCanonical = Buffer.from(setup);
    nonCanonical.set(Buffer.from('edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', 'hex'), 0);
    await expectRefusal(() => registry.postSetup(id, 'acme', nonCanonical), 'PSI_MALFORMED_MESSAGE', 400);
    const lowOrder = Buffer.from(setup);
    lowOrder.fill(0, 0, 32);
    lowOrder[0] = 1;
    await expectRefusal(() => registry.postSetup(id, 'acme', lowOrder), 'PSI_MALFORMED_MESSAGE', 400);
    await expectRefusal(() => registry.postSetup(id, 'acme', setup.subarray(0, 100)), 'PSI_MALFORMED_MESSAGE', 400);
    registry.postSetup(id, 'acme', setup);
    await expectRefusal(() => registry.postKey(id, 'acme', a), 'PSI_WRONG_STEP', 409);
    await expectRefusal(() => registry.postFinal(id, 'globex', setup), 'PSI_WRONG_STEP', 409);
    const b = key();
    const request = multiplyElements(b, hashToElements(padding));
    registry.postRequest(id, 'globex', request);
    await expectRefusal(() => registry.postFinal(id, 'acme', setup), 'PSI_WRONG_ROLE', 403);
    await expectRefusal(() => registry.postFinal(id, 'globex', setup.subarray(32)), 'PSI_MALFORMED_MESSAGE', 400);
    registry.postFinal(id, 'globex', multiplyElements(b, setup));
    await expectRefusal(() => registry.postFinal(id, 'globex', setup), 'PSI_WRONG_STEP', 409);
    await expectRefusal(() => registry.postKey(id, 'globex', b), 'PSI_WRONG_STEP', 409);
    await expectRefusal(() => registry.readResponse(id, 'globex'), 'PSI_WRONG_STEP', 409);
    registry.postResponse(id, 'acme', multiplyElements(a, request));
    registry.postKey(id, 'globex', b);
    await expectRefusal(() => registry.postKey(id, 'globex', b), 'PSI_WRONG_STEP', 409);
    expect(registry.view(id, 'acme')).toMatchObject({ state: 'sealed', posted: ['response', 'final', 'client key'] });
  });
});

// From a hostile review of this engine: attacks that must keep failing.
const P = 2n ** 255n - 19n;
const readLE = (b: Uint8Array) => BigInt('0x' + Buffer.from(b.subarray(0, 32)).reverse().toString('hex'));
const writeLE = (v: bigint) => new Uint8Array(Buffer.from(v.toString(16).padStart(64, '0'), 'hex').reverse());
const inverse = (u: bigint) => {
  let [r, b, e] = [1n, u % P, P - 2n];
  for (; e > 0n; e >>= 1n, b = (b * b) % P) if (e & 1n) r = (r * b) % P;
  return r;
};
/** u(Q + T₂), T₂ = (0, 0) the 2-torsion point, is 1/u: another encoding that every clamped key maps alike. */
const plusTwoTorsion = (element: Uint8Array) => writeLE(inverse(readLE(element)));
const ids = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}@example.com`);

/** Both members follow the protocol on the given (already hashed) bases, through the registry. */
function honestSession(registry: PsiSessionRegistry, id: string, serverBase: Uint8Array, clientBase: Uint8Array) {
  const [a, b] = [key(), key()];
  const setup = multiplyElements(a, serverBase);
  registry.postSetup(id, 'acme', setup);
  const request = multiplyElements(b, clientBase);
  registry.postRequest(id, 'globex', request);
  registry.postResponse(id, 'acme', multiplyElements(a, request));
  registry.postFinal(id, 'globex', multiplyElements(b, setup));
  registry.postKey(id, 'acme', a);
  registry.postKey(id, 'globex', b);
}

describe('the room’s count under attack', () => {
  it('fails both members’ runs with PSI_PROTOCOL_VIOLATION, naming who, when the room finds a deviation', async () => {
    const registry = new PsiSessionRegistry();
    const { id } = registry.open('c', rule(), 'globex');
    const channel = inMemoryNativeChannel(registry, id, members, async () => {
      registry.completeCount(id, 'globex', { violators: ['server'] });
    });
    const options = { minSetSize: 2, workers: native };
    const runs = await Promise.allSettled([
      runNativeServer(await hashIdentifiers(native, [ids('s', 30)], 'email'), channel.server, options),
      runNativeClient(await hashIdentifiers(native, [ids('s', 20)], 'email'), channel.client, options),
    ]);
    for (const run of runs) {
      expect(run.status).toBe('rejected');
      const reason = (run as PromiseRejectedResult).reason as { code: string; message: string; details: unknown };
      expect(reason.code).toBe('PSI_PROTOCOL_VIOLATION');
      expect(reason.message).toContain('the PSI server did not follow the protocol');
    }
    await expectRefusal(() => registry.readResult(id, 'globex'), 'PSI_WRONG_STEP', 409);
  });

  it('ends a session the room failed to count with no one named, and tells both members so', async () => {
    const registry = new PsiSessionRegistry();
    const { id } = registry.open('c', rule(), 'globex');
    const failing = new PsiRoomCounter();
    let counted: Promise<unknown> | undefined;
    const channel = inMemoryNativeChannel(registry, id, members, async () => {
      // The room's worker goes away mid-count (here: its pool is closed under it).
      counted = failing.count(registry, id, 'globex', cryptoRandomSource);
      const settled = counted.catch(() => undefined);
      await failing.close();
      await settled;
    });
    const options = { minSetSize: 2, workers: native };
    const runs = await Promise.allSettled([
      runNativeServer(await hashIdentifiers(native, [ids('s', 30)], 'email'), channel.server, options),
      runNativeClient(await hashIdentifiers(native, [ids('s', 20)], 'email'), channel.client, options),
    ]);
    await expect(counted).rejects.toMatchObject({ code: 'PSI_ENGINE_FAILURE' });
    expect(registry.view(id, 'acme')).toMatchObject({ state: 'violated', violators: [] });
    for (const run of runs) {
      expect(run.status).toBe('rejected');
      const reason = (run as PromiseRejectedResult).reason as { code: string; message: string };
      expect(reason.code).toBe('PSI_PROTOCOL_VIOLATION');
      expect(reason.message).toBe('The room could not count this session; nothing was released.');
    }
  });

  it('counts a session that expires while its count waits for the worker, whoever looks at it meanwhile', async () => {
    const busy = new PsiSessionRegistry();
    const first = busy.open('c', rule({ sessionTtlSeconds: 3600 }), 'globex').id;
    honestSession(busy, first, hashToElements(ids('a', 3000)), hashToElements(ids('a', 3000)));
    let now = 1_000_000;
    const registry = new PsiSessionRegistry({ clock: () => now });
    const id = registry.open('c', rule({ sessionTtlSeconds: 60 }), 'globex').id;
    honestSession(registry, id, hashToElements(ids('s', 50)), hashToElements(ids('s', 30)));
    const ahead = counter.count(busy, first, 'globex', cryptoRandomSource); // holds the room's one worker
    const queued = counter.count(registry, id, 'globex', cryptoRandomSource);
    now += 61_000;
    registry.view(id, 'acme'); // a member polls the expired session: its keys must not be zeroed under the count
    const [, outcome] = await Promise.all([ahead, queued]);
    expect(outcome).toMatchObject({ trueCount: 30 });
  });

  it('counts a point once however it is encoded: u and 1/u (a 2-torsion twin) on either side', async () => {
    const target = hashToElements(['target@example.com']);
    for (const side of ['client', 'server'] as const) {
      const registry = new PsiSessionRegistry();
      const { id } = registry.open('c', rule(), 'globex');
      const [a, b] = [key(), key()];
      const serverOwn = multiplyElements(a, Buffer.concat([target, hashToElements(ids('s', 40))]));
      const setup = side === 'server' ? Buffer.concat([serverOwn, plusTwoTorsion(slice(serverOwn, 0))]) : serverOwn;
      registry.postSetup(id, 'acme', setup);
      const t = multiplyElements(b, target);
      const padding = multiplyElements(b, hashToElements(ids('pad', 20)));
      const request = Buffer.concat(side === 'client' ? [t, plusTwoTorsion(t), padding] : [t, padding]);
      registry.postRequest(id, 'globex', request);
      registry.postResponse(id, 'acme', multiplyElements(a, request));
      registry.postFinal(id, 'globex', multiplyElements(b, setup));
      registry.postKey(id, 'acme', a);
      registry.postKey(id, 'globex', b);
      expect(await counter.count(registry, id, 'globex', cryptoRandomSource)).toMatchObject({ trueCount: 1 });
    }
  });

  it('refuses every small-order u (each makes X25519 throw), u ≥ p and the high bit', async () => {
    const smallOrder = [
      0n,
      1n,
      P - 1n,
      325606250916557431795983626356110631294008115727848805560023387167927233504n,
      39382357235489614581723060781553021112529911719440698176882885853963445705823n,
    ];
    for (const u of smallOrder) expect(() => multiplyElements(key(), writeLE(u))).toThrow();
    for (const u of [...smallOrder, P, P + 1n, 2n ** 255n - 1n, (1n << 255n) | 9n]) {
      const { registry, id } = manualSession();
      const setup = Buffer.concat([writeLE(u), hashToElements(ids('s', 5))]);
      await expectRefusal(() => registry.postSetup(id, 'acme', setup), 'PSI_MALFORMED_MESSAGE', 400);
    }
  });
});
