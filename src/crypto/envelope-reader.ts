import { InvalidInputError, UnprocessableError } from '../errors/cleanroom-error.ts';
import { ByteReader } from './byte-reader.ts';
import { fromBase64, totalLength } from './bytes.ts';
import { NONCE_PREFIX_BYTES, TAG_BYTES, openChunk } from './chunk-cipher.ts';
import { createSha256, firstIllFormedString } from './hashing.ts';
import {
  ENVELOPE_MAGIC,
  FrameType,
  MAX_CHUNK_SIZE,
  MAX_JSON_FRAME_BYTES,
  MIN_CHUNK_SIZE,
  type EnvelopeHeader,
  type EnvelopeTrailer,
} from './envelope-format.ts';

export interface OpenedEnvelope {
  readonly header: EnvelopeHeader;
  readonly trailer: EnvelopeTrailer;
  readonly envelopeSha256: string;
  readonly plaintextBytes: number;
  readonly plaintextSha256: string;
}

export interface EnvelopeReaderOptions {
  /** Returns the data key for this header (unsealing it), or undefined if it cannot be opened. */
  readonly dataKey: (header: EnvelopeHeader) => Uint8Array | undefined;
  /**
   * Called once per authenticated chunk with its plaintext, in order, in the pieces it was
   * decrypted in (as the network delivered them); awaiting it applies backpressure.
   */
  readonly onPlaintext: (pieces: readonly Uint8Array[]) => void | Promise<void>;
}

const malformed = (message: string, details: Record<string, unknown> = {}) =>
  new InvalidInputError('ENVELOPE_MALFORMED', message, details);
const tampered = (message: string, details: Record<string, unknown> = {}) =>
  new UnprocessableError('ENVELOPE_TAMPERED', message, details);

function parseJson(bytes: Uint8Array, what: string): unknown {
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    throw malformed(`The envelope's ${what} is not valid JSON.`);
  }
  // A lone surrogate (a valid JSON escape) has no canonical form, so no manifest holding one can be
  // signed or checked: refused here rather than failing inside the signature check (found in review).
  const illFormed = firstIllFormedString(parsed);
  if (illFormed !== undefined)
    throw malformed(`The envelope's ${what} holds text that is not well-formed Unicode at ${illFormed}.`, {
      pointer: illFormed,
    });
  return parsed;
}

function parseHeader(value: unknown): EnvelopeHeader {
  const h = value as Partial<EnvelopeHeader> | null;
  if (
    !h ||
    typeof h !== 'object' ||
    h.v !== 1 ||
    h.cipher !== 'chacha20-poly1305' ||
    !Number.isInteger(h.chunkSize) ||
    (h.chunkSize as number) < MIN_CHUNK_SIZE ||
    (h.chunkSize as number) > MAX_CHUNK_SIZE ||
    typeof h.noncePrefix !== 'string' ||
    fromBase64(h.noncePrefix, NONCE_PREFIX_BYTES) === undefined ||
    typeof h.sealedKey !== 'string'
  ) {
    throw malformed('The envelope header is not a version 1 chacha20-poly1305 header with a valid chunk size.', {
      chunkSizeRange: [MIN_CHUNK_SIZE, MAX_CHUNK_SIZE],
    });
  }
  return h as EnvelopeHeader;
}

function parseTrailer(value: unknown): EnvelopeTrailer {
  const t = value as Partial<EnvelopeTrailer> | null;
  if (
    !t ||
    typeof t !== 'object' ||
    typeof t.manifest !== 'object' ||
    t.manifest === null ||
    typeof t.signature !== 'string' ||
    typeof t.signer !== 'string'
  ) {
    throw malformed('The envelope trailer must hold a manifest, a signature and a signer.');
  }
  return t as EnvelopeTrailer;
}

/**
 * Authenticates and decrypts an envelope as it streams, handing each plaintext chunk on in order.
 * Nothing is released before its chunk authenticates; truncation, reordering, a missing final
 * chunk or bytes after the trailer are refused. The trailer's signature is the caller's to check.
 */
export async function readEnvelope(
  source: AsyncIterable<Uint8Array>,
  options: EnvelopeReaderOptions,
): Promise<OpenedEnvelope> {
  const reader = new ByteReader(source);
  const envelopeHash = createSha256();
  const plaintextHash = createSha256();

  const magic = await reader.read(ENVELOPE_MAGIC.length);
  if (Buffer.compare(magic, ENVELOPE_MAGIC) !== 0)
    throw malformed('This is not a Cleanroom envelope (bad magic bytes).');
  envelopeHash.update(magic);

  const nextHead = async (maxLength: number) => {
    const head = await reader.read(5);
    if (head.length < 5) throw tampered('The envelope ends early: it was truncated.');
    const type = head[0] as number;
    const length = new DataView(head.buffer, head.byteOffset, 5).getUint32(1);
    if (length > maxLength)
      throw malformed('An envelope frame is longer than its format allows.', {
        frameType: String.fromCharCode(type),
        length,
        maxLength,
      });
    return { type, head, length };
  };
  const truncatedFrame = () => tampered('The envelope ends inside a frame: it was truncated.');
  const nextFrame = async (maxLength: number) => {
    const { type, head, length } = await nextHead(maxLength);
    const payload = await reader.read(length);
    if (payload.length < length) throw truncatedFrame();
    return { type, head, payload };
  };

  const headerFrame = await nextFrame(MAX_JSON_FRAME_BYTES);
  if (headerFrame.type !== FrameType.header) throw malformed('The envelope does not start with a header frame.');
  envelopeHash.update(headerFrame.head).update(headerFrame.payload);
  const header = parseHeader(parseJson(headerFrame.payload, 'header'));
  const key = options.dataKey(header);
  if (!key)
    throw tampered(
      'The envelope data key could not be opened with the room key: it was sealed to another room or altered.',
    );
  const prefix = fromBase64(header.noncePrefix, NONCE_PREFIX_BYTES) as Uint8Array;

  let plaintextBytes = 0;
  for (let index = 0; ; index++) {
    const { type, head, length } = await nextHead(header.chunkSize + TAG_BYTES);
    const final = type === FrameType.finalChunk;
    if (!final && type !== FrameType.chunk)
      throw tampered('The envelope ends before its final chunk.', { chunk: index });
    if (!final && length !== header.chunkSize + TAG_BYTES)
      throw malformed('A non-final chunk is not full size.', { chunk: index });
    // Chunks (1 MiB by default) stay in the pieces the network delivered: no copy to assemble them.
    const sealed = await reader.readPieces(length);
    if (totalLength(sealed) < length) throw truncatedFrame();
    const plain = openChunk(key, prefix, index, final, sealed);
    if (!plain)
      throw tampered('A chunk failed authentication: the ciphertext was altered, reordered or cut.', { chunk: index });
    envelopeHash.update(head);
    for (const piece of sealed) envelopeHash.update(piece);
    for (const piece of plain) {
      plaintextHash.update(piece);
      plaintextBytes += piece.length;
    }
    await options.onPlaintext(plain);
    if (final) break;
  }
  key.fill(0);

  const trailerFrame = await nextFrame(MAX_JSON_FRAME_BYTES);
  if (trailerFrame.type !== FrameType.trailer) throw malformed('The final chunk is not followed by the trailer.');
  const trailer = parseTrailer(parseJson(trailerFrame.payload, 'trailer'));
  if (!(await reader.atEnd())) throw malformed('There are bytes after the envelope trailer.');
  return {
    header,
    trailer,
    envelopeSha256: envelopeHash.digest('hex'),
    plaintextBytes,
    plaintextSha256: plaintextHash.digest('hex'),
  };
}
