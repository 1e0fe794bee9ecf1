import { randomFillSync } from 'node:crypto';
import { parentPort } from 'node:worker_threads';
import { hashToElements, multiplyElements, sodiumReady } from './native-group.ts';
import { NATIVE_ELEMENT_BYTES } from './native-messages.ts';
import { commonDistinct } from './sorted-elements.ts';
import type { SampledElements } from './psi-session.ts';
import type { PsiTaskReply, PsiTaskRequest, PsiTasks } from './psi-tasks.ts';

// The native engine's worker thread: hashing to ristretto255 (libsodium WASM) and X25519 (OpenSSL)
// are synchronous and CPU-bound. Keys arrive as copies; each task zeroes its copy when done.

type NativeTask = 'native-hash' | 'native-multiply' | 'native-shuffle' | 'native-verify-count';
type Handlers = { [T in NativeTask]: (task: PsiTasks[T]['task']) => PsiTasks[T]['result'] };

/**
 * Uniform integers below a bound from CSPRNG words drawn 64k at a time (crypto.randomInt costs ~2 µs
 * a call, seconds at a million elements); a word past the largest multiple of the bound is redrawn,
 * so there is no modulo bias.
 */
function uniformBelow(): (bound: number) => number {
  const words = new Uint32Array(65_536);
  let next = words.length;
  return (bound) => {
    const limit = 2 ** 32 - (2 ** 32 % bound);
    for (;;) {
      if (next === words.length) {
        randomFillSync(words);
        next = 0;
      }
      const word = words[next++] as number;
      if (word < limit) return word % bound;
    }
  };
}

/** Shuffles packed elements in place, uniformly (Fisher–Yates over a CSPRNG). */
function shuffle(all: Uint8Array): Uint8Array {
  const swap = new Uint8Array(NATIVE_ELEMENT_BYTES);
  const below = uniformBelow();
  const count = all.length / NATIVE_ELEMENT_BYTES;
  for (let i = count - 1; i > 0; i -= 1) {
    const j = below(i + 1);
    if (j === i) continue;
    const a = i * NATIVE_ELEMENT_BYTES;
    const b = j * NATIVE_ELEMENT_BYTES;
    swap.set(all.subarray(a, a + NATIVE_ELEMENT_BYTES));
    all.copyWithin(a, b, b + NATIVE_ELEMENT_BYTES);
    all.set(swap, b);
  }
  return all;
}

/** True when every sampled output is the sampled input at that position under `key`. */
function matchesAt(key: Uint8Array, sample: SampledElements, outputs: Uint8Array): boolean {
  const expected = Buffer.from(multiplyElements(key, sample.elements));
  return sample.positions.every((p, k) =>
    expected
      .subarray(k * NATIVE_ELEMENT_BYTES, (k + 1) * NATIVE_ELEMENT_BYTES)
      .equals(outputs.subarray(p * NATIVE_ELEMENT_BYTES, (p + 1) * NATIVE_ELEMENT_BYTES)),
  );
}

const handlers: Handlers = {
  'native-hash': ({ inputs }) => hashToElements(inputs),
  'native-multiply': ({ key, elements }) => {
    try {
      return multiplyElements(key, elements);
    } finally {
      key.fill(0);
    }
  },
  'native-shuffle': ({ elements }) => shuffle(elements),
  'native-verify-count': ({ setupSample, requestSample, response, final, serverKey, clientKey }) => {
    try {
      const violators: ('server' | 'client')[] = [];
      if (!matchesAt(serverKey, requestSample, response)) violators.push('server');
      if (!matchesAt(clientKey, setupSample, final)) violators.push('client');
      return { violators, common: violators.length > 0 ? 0 : commonDistinct(response, final) };
    } finally {
      serverKey.fill(0);
      clientKey.fill(0);
    }
  },
};

const port = parentPort;
if (port === null) throw new Error('native-worker.ts must run in a worker thread');
port.on('message', (request: PsiTaskRequest) => {
  void sodiumReady.then(() => {
    let reply: PsiTaskReply;
    try {
      const run = handlers[request.type as NativeTask] as ((task: unknown) => unknown) | undefined;
      if (run === undefined) throw new Error(`the native worker has no task ${request.type}`);
      reply = { id: request.id, ok: true, result: run(request.task) };
    } catch (error) {
      reply = { id: request.id, ok: false, reason: error instanceof Error ? error.message.slice(0, 200) : 'unknown' };
    }
    const result = reply.ok ? reply.result : undefined;
    port.postMessage(
      reply,
      result instanceof Uint8Array && result.buffer instanceof ArrayBuffer ? [result.buffer] : [],
    );
  });
});
