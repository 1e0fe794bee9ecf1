import { totalLength, u32, toBase64 } from './bytes.ts';
import { newNoncePrefix, sealChunk } from './chunk-cipher.ts';
import { createSha256 } from './hashing.ts';
import { randomKey, sealTo } from './sealing.ts';
import {
  DEFAULT_CHUNK_SIZE,
  ENVELOPE_MAGIC,
  FrameType,
  type EnvelopeHeader,
  type EnvelopeTrailer,
} from './envelope-format.ts';

/** What the writer learned while sealing, from which the caller builds and signs the manifest. */
export interface SealedFacts {
  readonly envelopeSha256: string;
  readonly plaintextBytes: number;
  readonly plaintextSha256: string;
}

export interface EnvelopeWriterOptions {
  /** the X25519 key the data key is sealed to: the room for uploads, the recipient for extracts */
  readonly recipientPublicKey: Uint8Array;
  readonly chunkSize?: number;
  /** Builds the signed trailer once every chunk is sealed. */
  readonly trailer: (facts: SealedFacts) => EnvelopeTrailer | Promise<EnvelopeTrailer>;
}

/** A frame's 5-byte head: type and payload length (u32 BE). */
export function frameHead(type: number, length: number): Uint8Array {
  const out = new Uint8Array(5);
  out[0] = type;
  out.set(u32(length), 1);
  return out;
}

export function frame(type: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(5 + payload.length);
  out.set(frameHead(type, payload.length));
  out.set(payload, 5);
  return out;
}

async function* fixedSizePieces(source: AsyncIterable<Uint8Array>, size: number): AsyncGenerator<Uint8Array> {
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  for await (const piece of source) {
    let rest = piece;
    // Whole chunks straight from the source, when it reads in chunk-sized pieces: no copy.
    while (pendingBytes === 0 && rest.length >= size) {
      yield rest.subarray(0, size);
      rest = rest.subarray(size);
    }
    while (pendingBytes + rest.length >= size) {
      const need = size - pendingBytes;
      pending.push(rest.subarray(0, need));
      yield Buffer.concat(pending);
      pending = [];
      pendingBytes = 0;
      rest = rest.subarray(need);
    }
    if (rest.length > 0) {
      pending.push(rest);
      pendingBytes += rest.length;
    }
  }
  yield pending.length === 1 ? (pending[0] as Uint8Array) : Buffer.concat(pending);
}

/**
 * Seals a plaintext stream into an envelope, one chunk in memory at a time. A fresh random data
 * key per envelope is sealed to the recipient; the caller never sees it. The source must not reuse a
 * buffer it has yielded (Node streams never do): chunks are held as views of its pieces, not copies.
 */
export async function* writeEnvelope(
  plaintext: AsyncIterable<Uint8Array>,
  options: EnvelopeWriterOptions,
): AsyncGenerator<Uint8Array> {
  const chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
  const dataKey = randomKey();
  const noncePrefix = newNoncePrefix();
  const envelopeHash = createSha256();
  const plaintextHash = createSha256();
  let plaintextBytes = 0;

  const emit = (bytes: Uint8Array): Uint8Array => {
    envelopeHash.update(bytes);
    return bytes;
  };
  const header: EnvelopeHeader = {
    v: 1,
    cipher: 'chacha20-poly1305',
    chunkSize,
    noncePrefix: toBase64(noncePrefix),
    sealedKey: toBase64(sealTo(options.recipientPublicKey, dataKey)),
  };
  yield emit(ENVELOPE_MAGIC);
  yield emit(frame(FrameType.header, new TextEncoder().encode(JSON.stringify(header))));

  // One piece of look-ahead: a chunk is final only if no other follows it.
  let index = 0;
  let previous: Uint8Array | undefined;
  // Head, ciphertext and tag go out as three pieces rather than one copied frame.
  function* chunkFrame(type: number, sealed: readonly Uint8Array[]): Generator<Uint8Array> {
    yield emit(frameHead(type, totalLength(sealed)));
    for (const piece of sealed) yield emit(piece);
  }
  for await (const piece of fixedSizePieces(plaintext, chunkSize)) {
    if (previous) yield* chunkFrame(FrameType.chunk, sealChunk(dataKey, noncePrefix, index++, false, previous));
    plaintextHash.update(piece);
    plaintextBytes += piece.length;
    previous = piece;
  }
  yield* chunkFrame(FrameType.finalChunk, sealChunk(dataKey, noncePrefix, index, true, previous ?? new Uint8Array(0)));
  dataKey.fill(0);

  const trailer = await options.trailer({
    envelopeSha256: envelopeHash.digest('hex'),
    plaintextBytes,
    plaintextSha256: plaintextHash.digest('hex'),
  });
  yield frame(FrameType.trailer, new TextEncoder().encode(JSON.stringify(trailer)));
}
