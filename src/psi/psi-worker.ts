import { parentPort } from 'node:worker_threads';
import loadPsi from '@openmined/psi.js';
import type { ProtoMessage, PsiLibrary } from '@openmined/psi.js';
import { sortPacked } from './packed-elements.ts';
import { decodeRawSetup, decodeRequest, decodeResponse, encodeRequest, encodeResponse } from './psi-protobuf.ts';
import type { PsiTaskReply, PsiTaskRequest, PsiTasks, PsiTaskType } from './psi-tasks.ts';

// Runs in a worker thread only: psi.js is synchronous WASM and would block the event loop.
// Every input was validated by the caller; whatever psi.js still throws is reported as a reason
// string (never its BindingError or stack), and the pool replaces this worker.

type PsiJsTask = Exclude<PsiTaskType, `native-${string}`>;
type Handlers = { [T in PsiJsTask]: (psi: PsiLibrary, task: PsiTasks[T]['task']) => PsiTasks[T]['result'] };

/**
 * psi.js's methods only call serializeBinary() on the messages they are given, to hand the bytes to
 * WASM. Passing our own encoding skips its JS protobuf objects: for a 1.33M-element setup those
 * cost ~700 MB per worker (one typed-array view per element, plus a re-serialisation per call),
 * against ~230 MB for the WASM side alone (measured; see psi/CONTEXT.md).
 */
const message = (bytes: Uint8Array): ProtoMessage => ({ serializeBinary: () => bytes });

const handlers: Handlers = {
  'new-key': (psi) => {
    const server = psi.server.createWithNewKey(false);
    try {
      return server.getPrivateKeyBytes().slice();
    } finally {
      server.delete();
    }
  },
  'server-setup': (psi, { key, inputs, falsePositiveRate }) => {
    const server = psi.server.createFromKey(key, false);
    try {
      // Raw ignores numClientInputs and the rate but psi.js still demands valid ones.
      const setup = server.createSetupMessage(falsePositiveRate, 1, inputs, psi.dataStructure.Raw);
      return decodeRawSetup(setup.serializeBinary());
    } finally {
      server.delete();
    }
  },
  'client-request': (psi, { key, revealIntersection, inputs }) => {
    const client = psi.client.createFromKey(key, revealIntersection);
    try {
      return decodeRequest(client.createRequest(inputs).serializeBinary()).elements;
    } finally {
      client.delete();
    }
  },
  'server-process': (psi, { key, revealIntersection, elements }) => {
    const server = psi.server.createFromKey(key, revealIntersection);
    try {
      return decodeResponse(
        server.processRequest(message(encodeRequest(revealIntersection, elements))).serializeBinary(),
      );
    } finally {
      server.delete();
    }
  },
  'client-finalise': (psi, { key, revealIntersection, setup, elements }) => {
    const client = psi.client.createFromKey(key, revealIntersection);
    try {
      const response = message(encodeResponse(elements));
      if (!revealIntersection) return { size: client.getIntersectionSize(message(setup), response) };
      const indices = Int32Array.from(client.getIntersection(message(setup), response));
      return { size: indices.length, indices };
    } finally {
      client.delete();
    }
  },
  sort: (_psi, { buffers }) => sortPacked(buffers),
};

function transferablesOf(result: unknown): ArrayBuffer[] {
  const views = result instanceof Uint8Array ? [result] : [];
  if (typeof result === 'object' && result !== null && 'indices' in result && result.indices instanceof Int32Array)
    views.push(new Uint8Array(result.indices.buffer));
  return views.map((view) => view.buffer).filter((buffer): buffer is ArrayBuffer => buffer instanceof ArrayBuffer);
}

const port = parentPort;
if (port === null) throw new Error('psi-worker.ts must run in a worker thread');
const ready = loadPsi();
port.on('message', (request: PsiTaskRequest) => {
  void ready.then((psi) => {
    let reply: PsiTaskReply;
    try {
      const run = handlers[request.type as PsiJsTask] as (psi: PsiLibrary, task: unknown) => unknown;
      reply = { id: request.id, ok: true, result: run(psi, request.task) };
    } catch (error) {
      reply = {
        id: request.id,
        ok: false,
        reason: error instanceof Error ? error.message.slice(0, 200) : 'unknown failure',
      };
    }
    port.postMessage(reply, reply.ok ? transferablesOf(reply.result) : []);
  });
});
