import { rowsOfValues } from './identifier-normalisation.ts';
import type { NormalisedIdentifiers } from './identifier-normalisation.ts';
import { countOf } from './packed-elements.ts';
import { encodeRequestMessage, parseResponseMessage, parseSetupMessage } from './psi-messages.ts';
import { chunkLengths, mapChunks, sliceBy, withPool } from './psi-party-options.ts';
import type { PsiPartyOptions } from './psi-party-options.ts';
import { ELEMENT_BYTES, encodeRawSetup } from './psi-protobuf.ts';
import { checkPsiParameters, checkSetSize, refuseOnDiagnostics } from './psi-rules.ts';

/** How the PSI client member talks to the room. */
export interface PsiClientTransport {
  awaitSetup(): Promise<Uint8Array>;
  postRequest(message: Uint8Array): Promise<void>;
  awaitResponse(): Promise<Uint8Array>;
}

export interface PsiClientResult {
  /** Distinct normalised identifiers both members hold. */
  readonly size: number;
  readonly serverSetSize: number;
  readonly clientSetSize: number;
  /** Only when the rule reveals the intersection: the caller's original rows that matched, ascending. */
  readonly indices?: readonly number[];
}

/**
 * The client member's side: encrypt its set under a fresh key while the server builds its setup,
 * refuse a setup below the minimum before sending anything, then decrypt the response against
 * the setup in parallel batches.
 */
export async function runPsiClient(
  identifiers: NormalisedIdentifiers,
  transport: PsiClientTransport,
  options: PsiPartyOptions,
): Promise<PsiClientResult> {
  const values = identifiers.values;
  refuseOnDiagnostics(checkPsiParameters(options, { client: values.length }));
  const reveal = options.revealIntersection;
  const progress = options.onProgress ?? (() => undefined);
  return withPool(options.workers, async (pool) => {
    const key = await pool.run('new-key', {});
    try {
      const lengths = chunkLengths(values.length, pool.size, options.chunkSize);
      const [requestChunks, setupBytes] = await Promise.all([
        mapChunks(sliceBy(values, lengths), (chunk) => chunk.length, (inputs) => pool.run('client-request', {
          key, revealIntersection: reveal, inputs,
        }), (done, total) => progress('request', done, total)),
        transport.awaitSetup(),
      ]);
      const setup = parseSetupMessage(setupBytes);
      const serverSetSize = countOf(setup.elements);
      refuseOnDiagnostics(checkSetSize('server', serverSetSize, options));
      await transport.postRequest(encodeRequestMessage(reveal, requestChunks));

      const response = parseResponseMessage(await transport.awaitResponse(), { revealIntersection: reveal, chunks: requestChunks });
      // Shared memory: every worker reads the one setup without a copy per task.
      const setupProto = encodeRawSetup(setup.elements);
      const shared = new Uint8Array(new SharedArrayBuffer(setupProto.length));
      shared.set(setupProto);
      const setupId = `${Date.now()}-${Math.random()}`;
      const batches = batchesOf(response.chunks, pool.size);
      const results = await mapChunks(batches, (batch) => countOf(batch.elements), (batch) => pool.run('client-finalise', {
        key, revealIntersection: reveal, setupId, setup: shared, elements: batch.elements,
      }), (done, total) => progress('finalise', done, total));
      const size = results.reduce((sum, r) => sum + r.size, 0);
      const base = { size, serverSetSize, clientSetSize: values.length };
      if (!reveal) return base;
      const matched = results.flatMap((r, i) => Array.from(r.indices ?? [], (index) => index + (batches[i]?.offset ?? 0)));
      return { ...base, indices: rowsOfValues(identifiers, matched) };
    } finally {
      key.fill(0);
    }
  });
}

/**
 * Regroups response chunks into about two batches per worker: each finalise call re-reads the
 * whole setup inside psi.js, so fewer, larger batches cost less.
 */
function batchesOf(chunks: readonly Uint8Array[], workers: number): { offset: number; elements: Uint8Array }[] {
  const total = chunks.reduce((sum, chunk) => sum + chunk.length, 0);
  const all = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) {
    all.set(chunk, at);
    at += chunk.length;
  }
  const lengths = chunkLengths(countOf(all), workers, Math.ceil(countOf(all) / (workers * 2)));
  let offset = 0;
  return lengths.map((length) => {
    const batch = { offset, elements: all.slice(offset * ELEMENT_BYTES, (offset + length) * ELEMENT_BYTES) };
    offset += length;
    return batch;
  });
}
