import { randomBytes } from 'node:crypto';
import { diagnostic } from '../errors/diagnostic.ts';
import { refuseIf, refusalOf } from '../errors/refused-error.ts';
import type { NormalisedIdentifiers } from './identifier-normalisation.ts';
import { elementCount, NATIVE_ELEMENT_BYTES } from './native-messages.ts';
import { concatShared, splitPacked } from './packed-elements.ts';
import { chunkLengths, mapChunks, sliceBy, withPool } from './psi-party-options.ts';
import type { PsiPartyOptions } from './psi-party-options.ts';
import { checkPsiParameters, checkSetSize } from './psi-rules.ts';
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

/** Hashes and blinds the party's own set in chunks, then shuffles it whole. */
async function blindOwnSet(
  pool: PsiWorkerPool,
  key: Uint8Array,
  values: readonly string[],
  options: Options,
  phase: 'setup' | 'request',
): Promise<Uint8Array> {
  const progress = options.onProgress ?? (() => undefined);
  const chunks = await mapChunks(
    sliceBy(values, chunkLengths(values.length, pool.size, options.chunkSize)),
    (chunk) => chunk.length,
    (inputs) => pool.run('native-blind', { key, inputs }),
    (done, total) => progress(phase, done, total),
  );
  return pool.run('native-shuffle', { buffers: chunks });
}

/** Multiplies a peer's elements by the key, chunk by chunk, keeping their order. */
async function multiplyInOrder(
  pool: PsiWorkerPool,
  key: Uint8Array,
  elements: Uint8Array,
  options: Options,
  phase: 'process' | 'finalise',
): Promise<Uint8Array> {
  const progress = options.onProgress ?? (() => undefined);
  // Views of one shared copy reach the workers without copying the whole message per chunk.
  const shared = concatShared([elements]);
  const lengths = chunkLengths(elementCount(shared), pool.size, options.chunkSize);
  const out = await mapChunks(
    splitPacked(shared, lengths, NATIVE_ELEMENT_BYTES),
    elementCount,
    (chunk) => pool.run('native-multiply', { key, elements: chunk }),
    (done, total) => progress(phase, done, total),
  );
  return Buffer.concat(out);
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

/** Runs `body` with a fresh session key, zeroed however the run ends. */
async function withFreshKey<T>(
  role: PsiParty,
  values: readonly string[],
  options: Options,
  body: (pool: PsiWorkerPool, key: Uint8Array) => Promise<T>,
): Promise<T> {
  refuseIf(checkPsiParameters(options, { [role]: values.length }));
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
  identifiers: NormalisedIdentifiers,
  transport: NativeServerTransport,
  options: Options,
): Promise<NativeOutcome> {
  const values = identifiers.values;
  return withFreshKey('server', values, options, async (pool, key) => {
    await transport.postSetup(await blindOwnSet(pool, key, values, options, 'setup'));
    const request = await transport.awaitRequest();
    refuseIf(checkSetSize('client', elementCount(request), options));
    await transport.postResponse(await multiplyInOrder(pool, key, request, options, 'process'));
    return revealAndAwait(transport, key);
  });
}

/**
 * The client member: blind its set (H(c)^b, shuffled) while the server blinds its own, refuse a
 * setup below the minimum before sending anything, then send the server's set under b (H(s)^ab,
 * in the setup's order, to the room only) and reveal b once the room is sealed.
 */
export function runNativeClient(
  identifiers: NormalisedIdentifiers,
  transport: NativeClientTransport,
  options: Options,
): Promise<NativeOutcome> {
  const values = identifiers.values;
  return withFreshKey('client', values, options, async (pool, key) => {
    const [request, setup] = await Promise.all([
      blindOwnSet(pool, key, values, options, 'request'),
      transport.awaitSetup(),
    ]);
    // The room checked every element (canonical, not small-order, no repeats); the size rule is checked here too.
    refuseIf(checkSetSize('server', elementCount(setup), options));
    await transport.postRequest(request);
    await transport.postFinal(await multiplyInOrder(pool, key, setup, options, 'finalise'));
    return revealAndAwait(transport, key);
  });
}
