/** Standard base64 without line breaks: the text form of every key, signature and sealed blob. */
export const toBase64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64');

/** Decodes base64 and insists on the exact length, so a truncated key is refused, not zero-padded. */
export function fromBase64(text: string, expectedLength?: number): Uint8Array | undefined {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) return undefined;
  const bytes = new Uint8Array(Buffer.from(text, 'base64'));
  if (expectedLength !== undefined && bytes.length !== expectedLength) return undefined;
  return bytes;
}

/** Bytes in a list of pieces (a chunk as the network split it, a batch of writes). */
export const totalLength = (pieces: readonly Uint8Array[]): number =>
  pieces.reduce((sum, piece) => sum + piece.length, 0);

/** Big-endian u32, the length prefix of every frame we write. */
export function u32(value: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, value);
  return out;
}
