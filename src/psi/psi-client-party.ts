import { rowsOfValues } from './identifier-normalisation.ts';
import { refuseIf } from '../errors/refused-error.ts';
import type { NormalisedIdentifiers } from './identifier-normalisation.ts';
import { concatShared, countOf } from './packed-elements.ts';
import { encodeRequestMessage, parseResponseMessage, parseSetupMessage } from './psi-messages.ts';
import { asParty, chunkLengths, mapChunks, sliceBy } from './psi-party-options.ts';
import type { PsiPartyOptions } from './psi-party-options.ts';
import { ELEMENT_BYTES } from './psi-protobuf.ts';
import { checkSetSize } from './psi-rules.ts';

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
  const reveal = options.revealIntersection;
  return asParty('client', values, options, async ({ pool, key, lengths, progress }) => {
    const [requestChunks, setup] = await Promise.all([
      mapChunks(
        sliceBy(values, lengths),
        (chunk) => chunk.length,
        (inputs) =>
          pool.run('client-request', {
            key,
            revealIntersection: reveal,
            inputs,
          }),
        (done, total) => progress('request', done, total),
      ),
      transport.awaitSetup().then(receivedSetup),
    ]);
    refuseIf(checkSetSize('server', setup.size, options));
    await transport.postRequest(encodeRequestMessage(reveal, requestChunks));
    const batches = batchesOf(
      await transport
        .awaitResponse()
        .then((bytes) => parseResponseMessage(bytes, { revealIntersection: reveal, chunks: requestChunks }).chunks),
      pool.size,
    );
    const results = await mapChunks(
      batches,
      (batch) => countOf(batch.elements),
      (batch) =>
        pool.run('client-finalise', {
          key,
          revealIntersection: reveal,
          setup: setup.shared,
          elements: batch.elements,
        }),
      (done, total) => progress('finalise', done, total),
    );
    const size = results.reduce((sum, r) => sum + r.size, 0);
    const base = { size, serverSetSize: setup.size, clientSetSize: values.length };
    if (!reveal) return base;
    const matched = results.flatMap((r, i) =>
      Array.from(r.indices ?? [], (index) => index + (batches[i]?.offset ?? 0)),
    );
    return { ...base, indices: rowsOfValues(identifiers, matched) };
  });
}

/**
 * Keeps only what the finalise pass needs from the setup message: its element count and one copy
 * of its protobuf in shared memory, which every worker reads in place. The received message and
 * its decoded elements become garbage as soon as this returns (at 1M elements, ~90 MB).
 */
function receivedSetup(bytes: Uint8Array): { size: number; shared: Uint8Array } {
  const setup = parseSetupMessage(bytes);
  return { size: countOf(setup.elements), shared: concatShared([setup.protobuf]) };
}

/**
 * Regroups response chunks into about two batches per worker: each finalise call re-reads the
 * whole setup inside psi.js, so fewer, larger batches cost less. The batches are views of one
 * shared copy, so handing them to workers copies nothing.
 */
function batchesOf(chunks: readonly Uint8Array[], workers: number): { offset: number; elements: Uint8Array }[] {
  const all = concatShared(chunks);
  const lengths = chunkLengths(countOf(all), workers, Math.ceil(countOf(all) / (workers * 2)));
  let offset = 0;
  return lengths.map((length) => {
    const batch = { offset, elements: all.subarray(offset * ELEMENT_BYTES, (offset + length) * ELEMENT_BYTES) };
    offset += length;
    return batch;
  });
}
