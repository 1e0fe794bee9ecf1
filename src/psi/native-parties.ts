import { randomBytes } from 'node:crypto';
import { diagnostic } from '../errors/diagnostic.ts';
import { refuseIf, refusalOf } from '../errors/refused-error.ts';
import type { HashedSet } from './native-hashing.ts';
import { elementCount, NATIVE_ELEMENT_BYTES } from './native-messages.ts';
import { splitPacked } from './packed-elements.ts';
import { chunkLengths, mapChunks, withPool } from './psi-party-options.ts';
import type { PsiPartyOptions } from './psi-party-options.ts';
import { checkPsiParameters, checkSetSize, NATIVE_MAX_SET_SIZE } from './psi-rules.ts';
import type { PsiCountRelease, PsiParty } from './psi-session.ts';
import type { PsiWorkerPool } from './worker-pool.ts';

/**
 * The two members' sides of a room-counted session on the native engine (PROTOCOL.md). Neither
 * side learns anything from the other but its set size; the room learns the count, and releases it
 * with noise to the members its rule names.
 */

/** How a room-counted session ends, as either member sees it. */
export interface NativeOutcome {
  readonly state: 'released' | 'violated';
  readonly serverSetSize: number;
  readonly clientSetSize: number;
  /** Only for a member the rule releases to. */
  readonly release?: PsiCountRelease;
  readonly violators?: readonly PsiParty[];
}

interface NativeTransport {
  /** Resolves once both doubly-blinded sets are in; only then may a key be revealed. */
  awaitSealed(): Promise<void>;
  postKey(key: Uint8Array): Promise<void>;
  awaitOutcome(): Promise<NativeOutcome>;
}

export interface NativeServerTransport extends NativeTransport {
  postSetup(elements: Uint8Array): Promise<void>;
  awaitRequest(): Promise<Uint8Array>;
  postResponse(elements: Uint8Array): Promise<void>;
}

export interface NativeClientTransport extends NativeTransport {
  awaitSetup(): Promise<Uint8Array>;
  postRequest(elements: Uint8Array): Promise<void>;
  postFinal(elements: Uint8Array): Promise<void>;
}

type Options = Omit<PsiPartyOptions, 'revealIntersection' | 'falsePositiveRate' | 'workers'> & {
  readonly workers?: PsiWorkerPool | number;
};

/**
 * Multiplies every element by the key, chunk by chunk across the workers, writing each product back
 * in place: the set is never held twice. Each chunk is copied on its own and moved to its worker,
 * since posting a view of the whole buffer would clone all of it.
 */
async function multiplyInPlace(
  pool: PsiWorkerPool,
  key: Uint8Array,
  elements: Uint8Array,
  options: Options,
  phase: 'setup' | 'request' | 'process' | 'finalise',
): Promise<Uint8Array> {
  const progress = options.onProgress ?? (() => undefined);
  const lengths = chunkLengths(elementCount(elements), pool.size, options.chunkSize);
  const chunks = splitPacked(elements, lengths, NATIVE_ELEMENT_BYTES);
  await mapChunks(
    chunks,
    elementCount,
    async (chunk) => {
      const input = chunk.slice();
      const product = await pool.run('native-multiply', { key, elements: input }, [input.buffer as ArrayBuffer]);
      chunk.set(product);
    },
    (done, total) => progress(phase, done, total),
  );
  return elements;
}

/** Blinds the party's own hashed set in place (H(x)^key), then shuffles it in place: `own` is consumed. */
async function blindOwnSet(
  pool: PsiWorkerPool,
  key: Uint8Array,
  own: HashedSet,
  options: Options,
  phase: 'setup' | 'request',
): Promise<Uint8Array> {
  const elements = await multiplyInPlace(pool, key, own.elements, options, phase);
  // The buffer moves to the worker and back (a transfer, not a copy); `own.elements` is detached.
  return pool.run('native-shuffle', { elements }, [elements.buffer as ArrayBuffer]);
}

/** Reveals the key once the room holds both doubly-blinded sets, then waits for the count. */
async function revealAndAwait(transport: NativeTransport, key: Uint8Array): Promise<NativeOutcome> {
  await transport.awaitSealed();
  await transport.postKey(key);
  const outcome = await transport.awaitOutcome();
  if (outcome.state === 'violated') {
    const violators = outcome.violators ?? [];
    const message =
      violators.length === 0
        ? 'The room could not count this session; nothing was released.'
        : `The room found that the PSI ${violators.join(' and ')} did not follow the protocol; nothing was released.`;
    throw refusalOf(
      diagnostic('PSI_PROTOCOL_VIOLATION', message, 'native PSI protocol (PROTOCOL.md)', { sessionId: '', violators }),
    );
  }
  return outcome;
}

/** The native engine's set-size limit unless the caller set one. */
const withNativeLimit = (options: Options) => ({ maxSetSize: NATIVE_MAX_SET_SIZE, ...options });

/** Runs `body` with a fresh session key, zeroed however the run ends. */
async function withFreshKey<T>(
  role: PsiParty,
  own: HashedSet,
  options: Options,
  body: (pool: PsiWorkerPool, key: Uint8Array) => Promise<T>,
): Promise<T> {
  refuseIf(checkPsiParameters(withNativeLimit(options), { [role]: elementCount(own.elements) }));
  return withPool(
    options.workers,
    async (pool) => {
      const key = new Uint8Array(randomBytes(32));
      try {
        return await body(pool, key);
      } finally {
        key.fill(0);
      }
    },
    'native',
  );
}

/**
 * The server member: blind its set (H(s)^a, shuffled) for the client, answer the client's
 * request element for element (H(c)^ba, to the room only), reveal a once the room is sealed.
 */
export function runNativeServer(
  own: HashedSet,
  transport: NativeServerTransport,
  options: Options,
): Promise<NativeOutcome> {
  return withFreshKey('server', own, options, async (pool, key) => {
    await transport.postSetup(await blindOwnSet(pool, key, own, options, 'setup'));
    const request = await transport.awaitRequest();
    refuseIf(checkSetSize('client', elementCount(request), withNativeLimit(options)));
    await transport.postResponse(await multiplyInPlace(pool, key, request, options, 'process'));
    return revealAndAwait(transport, key);
  });
}

/**
 * The client member: blind its set (H(c)^b, shuffled) while the server blinds its own, refuse a
 * setup below the minimum before sending anything, then send the server's set under b (H(s)^ab,
 * in the setup's order, to the room only) and reveal b once the room is sealed.
 */
export function runNativeClient(
  own: HashedSet,
  transport: NativeClientTransport,
  options: Options,
): Promise<NativeOutcome> {
  return withFreshKey('client', own, options, async (pool, key) => {
    const blinded = await Promise.all([blindOwnSet(pool, key, own, options, 'request'), transport.awaitSetup()]);
    const setup = blinded[1];
    // The room checked every element (canonical, not small-order, no repeats); the size rule is checked here too.
    refuseIf(checkSetSize('server', elementCount(setup), withNativeLimit(options)));
    await transport.postRequest(blinded[0]);
    // Let the posted request go before the setup is multiplied: at 10M elements it is another 320 MB.
    blinded[0] = new Uint8Array(0);
    await transport.postFinal(await multiplyInPlace(pool, key, setup, options, 'finalise'));
    return revealAndAwait(transport, key);
  });
}
