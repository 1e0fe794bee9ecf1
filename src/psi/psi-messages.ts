import { decodeFrame, encodeFrame } from './psi-frame.ts';
import { areDistinct, countOf, isStrictlySorted } from './packed-elements.ts';
import {
  decodeRawSetup,
  decodeRequest,
  decodeResponse,
  encodeRawSetup,
  encodeRequest,
  encodeResponse,
  malformed,
} from './psi-protobuf.ts';

/**
 * Whole PSI messages as both the room and the parties see them: a frame of psi.js protobufs,
 * checked down to every element so that what the messages themselves prove (set sizes, the reveal
 * flag, distinctness, ordering) never has to be taken on trust.
 */
export interface SetupMessage {
  /** Sorted, distinct, packed encrypted server elements: the server set size is their count. */
  readonly elements: Uint8Array;
  /** The Raw ServerSetup protobuf as received and checked above: what psi.js itself reads. */
  readonly protobuf: Uint8Array;
}

export interface RequestMessage {
  readonly revealIntersection: boolean;
  /** Packed encrypted client elements per chunk, in the client's order. */
  readonly chunks: readonly Uint8Array[];
  readonly size: number;
}

export interface ResponseMessage {
  readonly chunks: readonly Uint8Array[];
  readonly size: number;
}

const total = (chunks: readonly Uint8Array[]): number => chunks.reduce((sum, chunk) => sum + countOf(chunk), 0);

export function encodeSetupMessage(sortedElements: Uint8Array): Uint8Array {
  return encodeFrame('setup', [encodeRawSetup(sortedElements)]);
}

/** Parses a setup frame: exactly one Raw ServerSetup whose elements are strictly sorted. */
export function parseSetupMessage(bytes: Uint8Array): SetupMessage {
  const chunks = decodeFrame('setup', bytes);
  const [only] = chunks;
  if (only === undefined || chunks.length !== 1) throw malformed('a setup message holds exactly one chunk');
  const elements = decodeRawSetup(only);
  // The client's Raw intersection walks both lists in order; unsorted or repeated elements would miscount.
  if (!isStrictlySorted(elements)) throw malformed('setup elements are not strictly sorted');
  return { elements, protobuf: only };
}

export function encodeRequestMessage(revealIntersection: boolean, chunks: readonly Uint8Array[]): Uint8Array {
  return encodeFrame(
    'request',
    chunks.map((chunk) => encodeRequest(revealIntersection, chunk)),
  );
}

/** Parses a request frame; every chunk must carry the same reveal flag and no element may repeat. */
export function parseRequestMessage(bytes: Uint8Array): RequestMessage {
  const decoded = decodeFrame('request', bytes).map(decodeRequest);
  const revealIntersection = decoded[0]?.revealIntersection ?? false;
  if (decoded.some((chunk) => chunk.revealIntersection !== revealIntersection)) {
    throw malformed('request chunks disagree on revealIntersection');
  }
  const chunks = decoded.map((chunk) => chunk.elements);
  // One client key maps equal identifiers to equal ciphertexts, so repeats would pad a small set past minSetSize.
  if (!areDistinct(chunks)) throw malformed('the request repeats an element');
  return { revealIntersection, chunks, size: total(chunks) };
}

export function encodeResponseMessage(chunks: readonly Uint8Array[]): Uint8Array {
  return encodeFrame('response', chunks.map(encodeResponse));
}

/**
 * Parses a response frame against the request it answers: one element per request element, and
 * chunk for chunk when the intersection is revealed; sorted as a whole when only the size is.
 */
export function parseResponseMessage(
  bytes: Uint8Array,
  request: Pick<RequestMessage, 'revealIntersection' | 'chunks'>,
): ResponseMessage {
  const chunks = decodeFrame('response', bytes).map(decodeResponse);
  const size = total(chunks);
  if (size !== total(request.chunks)) throw malformed('the response does not answer every request element', { size });
  if (request.revealIntersection) {
    if (
      chunks.length !== request.chunks.length ||
      chunks.some((chunk, i) => chunk.length !== request.chunks[i]?.length)
    ) {
      throw malformed('response chunks do not line up with request chunks');
    }
  } else if (!isStrictlySorted(concat(chunks))) {
    throw malformed('a size-only response must be sorted as a whole');
  }
  return { chunks, size };
}

function concat(chunks: readonly Uint8Array[]): Uint8Array {
  if (chunks.length === 1 && chunks[0] !== undefined) return chunks[0];
  const out = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.length, 0));
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}
