import { malformed } from './psi-protobuf.ts';

/**
 * Framing of a chunked PSI message:
 *   byte 0      version (1)
 *   byte 1      kind (1 setup, 2 request, 3 response)
 *   bytes 2..5  chunk count k, u32 big-endian, 1 <= k <= MAX_CHUNKS
 *   k times     u32 big-endian length L, then L bytes of one psi.js protobuf
 * and nothing after the last chunk.
 */
export const FRAME_VERSION = 1;
export const MAX_CHUNKS = 65_536;
const HEADER_BYTES = 6;

export type PsiMessageKind = 'setup' | 'request' | 'response';
const KIND_CODES: Readonly<Record<PsiMessageKind, number>> = { setup: 1, request: 2, response: 3 };

/** Frames psi.js protobufs as one message of the given kind. */
export function encodeFrame(kind: PsiMessageKind, chunks: readonly Uint8Array[]): Uint8Array {
  if (chunks.length < 1 || chunks.length > MAX_CHUNKS) throw new RangeError(`a frame holds 1..${MAX_CHUNKS} chunks`);
  const total = chunks.reduce((sum, chunk) => sum + 4 + chunk.length, HEADER_BYTES);
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  out[0] = FRAME_VERSION;
  out[1] = KIND_CODES[kind];
  view.setUint32(2, chunks.length);
  let offset = HEADER_BYTES;
  for (const chunk of chunks) {
    view.setUint32(offset, chunk.length);
    out.set(chunk, offset + 4);
    offset += 4 + chunk.length;
  }
  return out;
}

/** Splits a frame into its chunks (views, not copies); anything but an exact frame of `kind` is refused. */
export function decodeFrame(kind: PsiMessageKind, bytes: Uint8Array): Uint8Array[] {
  if (bytes.length < HEADER_BYTES) throw malformed('truncated frame header');
  if (bytes[0] !== FRAME_VERSION) throw malformed('unsupported frame version', { version: bytes[0] });
  if (bytes[1] !== KIND_CODES[kind]) throw malformed(`expected a ${kind} message`, { kind: bytes[1] });
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const count = view.getUint32(2);
  if (count < 1 || count > MAX_CHUNKS) throw malformed('chunk count out of range', { chunks: count });
  const chunks: Uint8Array[] = [];
  let offset = HEADER_BYTES;
  for (let i = 0; i < count; i += 1) {
    if (offset + 4 > bytes.length) throw malformed('truncated chunk header', { chunk: i });
    const length = view.getUint32(offset);
    if (offset + 4 + length > bytes.length) throw malformed('truncated chunk', { chunk: i });
    chunks.push(bytes.subarray(offset + 4, offset + 4 + length));
    offset += 4 + length;
  }
  if (offset !== bytes.length) throw malformed('trailing bytes after the last chunk');
  return chunks;
}
