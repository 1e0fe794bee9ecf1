import { describe, expect, it } from 'vitest';
import { ByteReader } from '../../src/crypto/byte-reader.ts';

async function* pieces(data: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < data.length; at += size) yield data.subarray(at, at + size);
}

const pattern = (n: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 31) % 251);

describe('ByteReader', () => {
  it('hands large pieces on as they arrived, without copying', async () => {
    const data = pattern(256 * 1024);
    const reader = new ByteReader(pieces(data, 64 * 1024));
    const got = await reader.readPieces(200 * 1024);
    expect(got.map((p) => p.length)).toEqual([65536, 65536, 65536, 8192]);
    expect(got[0]?.buffer).toBe(data.buffer);
    expect(await reader.read(56 * 1024)).toEqual(data.subarray(200 * 1024));
    expect(await reader.atEnd()).toBe(true);
  });

  it('gathers a one-byte trickle into a few buffers, so consumers never work per byte', async () => {
    const data = pattern(1024 * 1024 + 5);
    const reader = new ByteReader(pieces(data, 1));
    expect(await reader.read(5)).toEqual(data.subarray(0, 5));
    const got = await reader.readPieces(1024 * 1024);
    expect(got.length).toBeLessThanOrEqual(17);
    expect(Buffer.concat(got)).toEqual(Buffer.from(data.subarray(5)));
    expect(await reader.atEnd()).toBe(true);
  });

  it('returns what there is when the stream ends early', async () => {
    const reader = new ByteReader(pieces(pattern(100), 7));
    expect((await reader.readPieces(1000)).reduce((n, p) => n + p.length, 0)).toBe(100);
    expect(await reader.atEnd()).toBe(true);
  });
});
