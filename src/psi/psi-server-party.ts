import { countOf, splitPacked } from './packed-elements.ts';
import { refuseIf, refusalOf } from '../errors/refused-error.ts';
import { diagnostic } from '../errors/diagnostic.ts';
import { encodeResponseMessage, encodeSetupMessage, parseRequestMessage } from './psi-messages.ts';
import { asParty, mapChunks, sliceBy } from './psi-party-options.ts';
import type { PsiPartyOptions } from './psi-party-options.ts';
import { checkSetSize, DEFAULT_FALSE_POSITIVE_RATE } from './psi-rules.ts';
import type { NormalisedIdentifiers } from './identifier-normalisation.ts';

/** How the PSI server member talks to the room (HTTP in the CLI, memory in tests). */
export interface PsiServerTransport {
  postSetup(message: Uint8Array): Promise<void>;
  awaitRequest(): Promise<Uint8Array>;
  postResponse(message: Uint8Array): Promise<void>;
}

export interface PsiServerResult {
  readonly serverSetSize: number;
  readonly clientSetSize: number;
}

/**
 * The server member's side: encrypt its set under a fresh key (chunked over workers, merged into
 * one sorted Raw setup), then re-encrypt the client's request chunk by chunk. The server learns
 * only the client's set size.
 */
export async function runPsiServer(
  identifiers: NormalisedIdentifiers,
  transport: PsiServerTransport,
  options: PsiPartyOptions,
): Promise<PsiServerResult> {
  const values = identifiers.values;
  const reveal = options.revealIntersection;
  return asParty('server', values, options, async ({ pool, key, lengths, progress }) => {
    const encrypted = await mapChunks(
      sliceBy(values, lengths),
      (chunk) => chunk.length,
      (inputs) =>
        pool.run('server-setup', {
          key,
          inputs,
          falsePositiveRate: options.falsePositiveRate ?? DEFAULT_FALSE_POSITIVE_RATE,
        }),
      (done, total) => progress('setup', done, total),
    );
    await transport.postSetup(encodeSetupMessage(await pool.run('sort', { buffers: encrypted })));

    const request = parseRequestMessage(await transport.awaitRequest());
    if (request.revealIntersection !== reveal) {
      const message = 'The client asked for a different result than the rule allows.';
      throw refusalOf(
        diagnostic('PSI_REVEAL_MISMATCH', message, 'psi.revealIntersection', {
          requested: request.revealIntersection,
          allowed: reveal,
        }),
      );
    }
    refuseIf(checkSetSize('client', request.size, options));
    const answered = await mapChunks(
      request.chunks,
      countOf,
      (elements) =>
        pool.run('server-process', {
          key,
          revealIntersection: reveal,
          elements,
        }),
      (done, total) => progress('process', done, total),
    );
    // Size only: sort the whole response, or chunk boundaries would tell the client where its matches were.
    const response = reveal
      ? answered
      : splitPacked(await pool.run('sort', { buffers: answered }), request.chunks.map(countOf));
    await transport.postResponse(encodeResponseMessage(response));
    return { serverSetSize: values.length, clientSetSize: request.size };
  });
}
