import { randomFillSync, randomInt } from 'node:crypto';
import { parentPort } from 'node:worker_threads';
import { hashToElements, multiplyElements, sodiumReady } from './native-group.ts';
import { commonDistinct, NATIVE_ELEMENT_BYTES } from './native-messages.ts';
import type { PsiTaskReply, PsiTaskRequest, PsiTasks } from './psi-tasks.ts';

// The native engine's worker thread: hashing to ristretto255 (libsodium WASM) and X25519 (OpenSSL)
// are synchronous and CPU-bound. Keys arrive as copies; each task zeroes its copy when done.

type NativeTask = 'native-blind' | 'native-multiply' | 'native-shuffle' | 'native-verify-count';
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

/** Packs the buffers into one, in a uniformly random order (Fisher–Yates over a CSPRNG). */
function shuffle(buffers: readonly Uint8Array[]): Uint8Array {
  const total = buffers.reduce((sum, b) => sum + b.length, 0);
  const all = new Uint8Array(total);
  let offset = 0;
  for (const b of buffers) {
    all.set(b, offset);
    offset += b.length;
  }
  const swap = new Uint8Array(NATIVE_ELEMENT_BYTES);
  const below = uniformBelow();
  for (let i = total / NATIVE_ELEMENT_BYTES - 1; i > 0; i -= 1) {
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

/** Positions to check: all of them when there are at most `samples`, else `samples` distinct at random. */
function positions(count: number, samples: number): number[] {
  if (count <= samples) return Array.from({ length: count }, (_, i) => i);
  const chosen = new Set<number>();
  while (chosen.size < samples) chosen.add(randomInt(count));
  return [...chosen];
}

/** True when every sampled output is the input at that position under `key`. */
function matchesAt(key: Uint8Array, inputs: Uint8Array, outputs: Uint8Array, samples: number): boolean {
  const at = positions(inputs.length / NATIVE_ELEMENT_BYTES, samples);
  const picked = new Uint8Array(at.length * NATIVE_ELEMENT_BYTES);
  at.forEach((p, k) =>
    picked.set(inputs.subarray(p * NATIVE_ELEMENT_BYTES, (p + 1) * NATIVE_ELEMENT_BYTES), k * NATIVE_ELEMENT_BYTES),
  );
  const expected = multiplyElements(key, picked);
  return at.every((p, k) =>
    Buffer.from(expected.buffer, k * NATIVE_ELEMENT_BYTES, NATIVE_ELEMENT_BYTES).equals(
      outputs.subarray(p * NATIVE_ELEMENT_BYTES, (p + 1) * NATIVE_ELEMENT_BYTES),
    ),
  );
}

const handlers: Handlers = {
  'native-blind': ({ key, inputs }) => {
    try {
      return multiplyElements(key, hashToElements(inputs));
    } finally {
      key.fill(0);
    }
  },
  'native-multiply': ({ key, elements }) => {
    try {
      return multiplyElements(key, elements);
    } finally {
      key.fill(0);
    }
  },
  'native-shuffle': ({ buffers }) => shuffle(buffers),
  'native-verify-count': ({ setup, request, response, final, serverKey, clientKey, samples }) => {
    try {
      const violators: ('server' | 'client')[] = [];
      if (!matchesAt(serverKey, request, response, samples)) violators.push('server');
      if (!matchesAt(clientKey, setup, final, samples)) violators.push('client');
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
