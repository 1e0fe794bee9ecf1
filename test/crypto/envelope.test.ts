import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { generateSealingKeyPair, openSealed, sealTo, unwrapKey, wrapKey, randomKey } from '../../src/crypto/sealing.ts';
import { writeEnvelope, frame } from '../../src/crypto/envelope-writer.ts';
import { readEnvelope } from '../../src/crypto/envelope-reader.ts';
import { fromBase64 } from '../../src/crypto/bytes.ts';
import { FrameType, type EnvelopeTrailer } from '../../src/crypto/envelope-format.ts';
import { CleanroomError } from '../../src/errors/cleanroom-error.ts';
import { collect, piecesOf } from '../support/streams.ts';

const room = generateSealingKeyPair();
const trailer: EnvelopeTrailer = { manifest: { dataset: 'd' }, signature: 'sig', signer: 'key' };

async function seal(plaintext: Uint8Array, chunkSize = 1024): Promise<Uint8Array> {
  return collect(
    writeEnvelope(piecesOf(plaintext, 777), {
      recipientPublicKey: room.publicKey,
      chunkSize,
      trailer: () => trailer,
    }),
  );
}

async function open(envelope: Uint8Array, pieceSize = 1000) {
  const out: Uint8Array[] = [];
  const result = await readEnvelope(piecesOf(envelope, pieceSize), {
    dataKey: (header) => openSealed(room.secretKey, fromBase64(header.sealedKey) ?? new Uint8Array()),
    onPlaintext: (pieces) => void out.push(...pieces),
  });
  return { result, plaintext: Buffer.concat(out) };
}

async function refusal(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof CleanroomError) return error.code;
    throw error;
  }
  return 'accepted';
}

/** Splits an envelope into its magic and frames so tests can tamper with the structure. */
function framesOf(envelope: Uint8Array): { type: number; payload: Uint8Array }[] {
  const frames = [];
  let at = 8;
  while (at < envelope.length) {
    const view = new DataView(envelope.buffer, envelope.byteOffset + at);
    const length = view.getUint32(1);
    frames.push({ type: envelope[at] as number, payload: envelope.subarray(at + 5, at + 5 + length) });
    at += 5 + length;
  }
  return frames;
}
const assemble = (envelope: Uint8Array, frames: { type: number; payload: Uint8Array }[]) =>
  Buffer.concat([envelope.subarray(0, 8), ...frames.map((f) => frame(f.type, f.payload))]);

describe('sealed envelope', () => {
  it('round-trips any size, including empty and exact multiples of the chunk size', async () => {
    for (const size of [0, 1, 1023, 1024, 1025, 4096, 10_000]) {
      const plaintext = new Uint8Array(randomBytes(size));
      const { result, plaintext: opened } = await open(await seal(plaintext));
      expect(Buffer.compare(opened, plaintext)).toBe(0);
      expect(result.plaintextBytes).toBe(size);
      expect(result.trailer).toEqual(trailer);
    }
  });

  it('opens an envelope whatever pieces it arrives in, including pieces that split a tag', async () => {
    const plaintext = new Uint8Array(randomBytes(5000));
    const envelope = await seal(plaintext);
    // 1-byte pieces split every tag at every offset; the others land chunk and tag edges all over.
    for (const pieceSize of [1, 7, 16, 17, 1029, 1045, 1046, 1047, envelope.length]) {
      const { result, plaintext: opened } = await open(envelope, pieceSize);
      expect(Buffer.compare(opened, plaintext)).toBe(0);
      expect(result.plaintextBytes).toBe(5000);
    }
  });

  it('refuses a flipped bit in any byte of a tag, even when the tag is split across pieces', async () => {
    const sealed = await seal(new Uint8Array(5000));
    const firstTagEnd = 8 + 5 + framesOf(sealed)[0]!.payload.length + 5 + 1024 + 16;
    for (let i = firstTagEnd - 16; i < firstTagEnd; i++) {
      const envelope = Uint8Array.from(sealed);
      envelope[i] = (envelope[i] as number) ^ 0x80;
      expect(await refusal(open(envelope, 7))).toBe('ENVELOPE_TAMPERED');
    }
  });

  it('never contains the plaintext', async () => {
    const marker = Buffer.from('MARKER-5f1c0a-do-not-leak');
    const envelope = await seal(Buffer.concat([marker, marker, marker]));
    expect(Buffer.from(envelope).includes(marker)).toBe(false);
  });

  it('reports the same envelope hash the writer signed', async () => {
    let signed = '';
    const envelope = await collect(
      writeEnvelope(piecesOf(new Uint8Array(5000)), {
        recipientPublicKey: room.publicKey,
        chunkSize: 1024,
        trailer: (facts) => {
          signed = facts.envelopeSha256;
          return trailer;
        },
      }),
    );
    expect((await open(envelope)).result.envelopeSha256).toBe(signed);
  });

  it('refuses a flipped ciphertext bit', async () => {
    const envelope = Uint8Array.from(await seal(new Uint8Array(5000)));
    envelope[400] = (envelope[400] as number) ^ 1;
    expect(await refusal(open(envelope))).toBe('ENVELOPE_TAMPERED');
  });

  it('refuses truncation at any point', async () => {
    const envelope = await seal(new Uint8Array(5000));
    for (const cut of [3, 8, 20, 300, 1200, envelope.length - 200, envelope.length - 1]) {
      expect(await refusal(open(envelope.subarray(0, cut)))).toMatch(/ENVELOPE_(TAMPERED|MALFORMED)/);
    }
  });

  it('refuses reordered chunks and a dropped final chunk re-labelled', async () => {
    const envelope = await seal(new Uint8Array(randomBytes(5000)));
    const frames = framesOf(envelope);
    const swapped = [frames[0], frames[2], frames[1], ...frames.slice(3)] as typeof frames;
    expect(await refusal(open(assemble(envelope, swapped)))).toBe('ENVELOPE_TAMPERED');
    // Drop the real final chunk and mark the previous one final: the nonce's flag catches it.
    const chunkFrames = frames.filter((f) => f.type === FrameType.chunk);
    const relabelled = [
      frames[0],
      ...chunkFrames.slice(0, -1),
      { type: FrameType.finalChunk, payload: chunkFrames.at(-1)!.payload },
      frames.at(-1),
    ] as typeof frames;
    expect(await refusal(open(assemble(envelope, relabelled)))).toBe('ENVELOPE_TAMPERED');
  });

  it('refuses an envelope sealed to another room, and bytes after the trailer', async () => {
    const other = generateSealingKeyPair();
    const foreign = await collect(
      writeEnvelope(piecesOf(new Uint8Array(10)), { recipientPublicKey: other.publicKey, trailer: () => trailer }),
    );
    expect(await refusal(open(foreign))).toBe('ENVELOPE_TAMPERED');
    const envelope = await seal(new Uint8Array(10));
    expect(await refusal(open(Buffer.concat([envelope, Buffer.from('x')])))).toBe('ENVELOPE_MALFORMED');
  });

  it('refuses non-envelopes and oversized frames without reading them', async () => {
    expect(await refusal(open(Buffer.from('email,age\na@b.c,3\n')))).toBe('ENVELOPE_MALFORMED');
    const huge = Buffer.concat([Buffer.from('CLRMENV1'), Buffer.from([FrameType.header, 0xff, 0xff, 0xff, 0xff])]);
    expect(await refusal(open(huge))).toBe('ENVELOPE_MALFORMED');
  });
});

describe('key sealing and wrapping', () => {
  it('opens only with the right key', () => {
    const secret = randomKey();
    const sealed = sealTo(room.publicKey, secret);
    expect(openSealed(room.secretKey, sealed)).toEqual(secret);
    expect(openSealed(generateSealingKeyPair().secretKey, sealed)).toBeUndefined();
    const master = randomKey();
    const wrapped = wrapKey(master, secret);
    expect(unwrapKey(master, wrapped)).toEqual(secret);
    expect(unwrapKey(randomKey(), wrapped)).toBeUndefined();
  });
});
