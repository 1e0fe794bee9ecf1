import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { encodeFrame } from '../../src/psi/psi-frame.ts';
import {
  encodeRequestMessage,
  encodeResponseMessage,
  encodeSetupMessage,
  parseRequestMessage,
  parseResponseMessage,
  parseSetupMessage,
} from '../../src/psi/psi-messages.ts';
import { concatShared, sortPacked } from '../../src/psi/packed-elements.ts';
import { encodeRawSetup } from '../../src/psi/psi-protobuf.ts';
import { expectRefusal, fakePoints } from './helpers.ts';

describe('PSI message framing', () => {
  it('round-trips setup, request and response frames', () => {
    const setup = sortPacked([fakePoints(5)]);
    const parsed = parseSetupMessage(encodeSetupMessage(setup));
    expect(parsed.elements).toEqual(setup);
    // The client hands psi.js the received protobuf itself, so it must be exactly the Raw setup.
    expect(parsed.protobuf).toEqual(encodeRawSetup(setup));
    const chunks = [fakePoints(3), fakePoints(2)];
    const request = parseRequestMessage(encodeRequestMessage(true, chunks));
    expect(request).toMatchObject({ revealIntersection: true, size: 5 });
    expect(request.chunks).toEqual(chunks);
    expect(parseResponseMessage(encodeResponseMessage(chunks), request).size).toBe(5);
  });

  it('concatenates chunks into shared memory that a view carries to a worker without a copy', () => {
    const chunks = [fakePoints(3), fakePoints(2)];
    const shared = concatShared(chunks);
    expect(shared.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(shared).toEqual(new Uint8Array([...chunks[0]!, ...chunks[1]!]));
    const view = structuredClone(shared.subarray(33, 66));
    shared[33] = shared[33]! ^ 1;
    expect(view[0]).toBe(shared[33]);
  });

  it('refuses truncated, padded, mislabelled and wrong-version frames', async () => {
    const frame = encodeRequestMessage(false, [fakePoints(4)]);
    for (const cut of [0, 3, 6, 9, frame.length - 1]) {
      await expectRefusal(() => parseRequestMessage(frame.subarray(0, cut)), 'PSI_MALFORMED_MESSAGE', 400);
    }
    await expectRefusal(() => parseRequestMessage(new Uint8Array([...frame, 0])), 'PSI_MALFORMED_MESSAGE');
    await expectRefusal(() => parseSetupMessage(frame), 'PSI_MALFORMED_MESSAGE');
    const wrongVersion = frame.slice();
    wrongVersion[0] = 2;
    await expectRefusal(() => parseRequestMessage(wrongVersion), 'PSI_MALFORMED_MESSAGE');
    await expectRefusal(() => parseRequestMessage(randomBytes(200)), 'PSI_MALFORMED_MESSAGE');
  });

  it('refuses elements that are not 33-byte compressed points', async () => {
    const bad = encodeFrame('response', [new Uint8Array([0x0a, 0x02, 0x02, 0x01])]);
    await expectRefusal(
      () => parseResponseMessage(bad, { revealIntersection: true, chunks: [fakePoints(1)] }),
      'PSI_MALFORMED_MESSAGE',
    );
  });

  it('refuses a request that repeats an element (padding past minSetSize)', async () => {
    const one = fakePoints(1);
    await expectRefusal(() => parseRequestMessage(encodeRequestMessage(false, [one, one])), 'PSI_MALFORMED_MESSAGE');
  });

  it('refuses unsorted setups and size-only responses that are not sorted as a whole', async () => {
    const sorted = sortPacked([fakePoints(4)]);
    const reversed = new Uint8Array(sorted.length);
    for (let i = 0; i < 4; i += 1) reversed.set(sorted.subarray((3 - i) * 33, (4 - i) * 33), i * 33);
    await expectRefusal(() => parseSetupMessage(encodeSetupMessage(reversed)), 'PSI_MALFORMED_MESSAGE');
    const request = { revealIntersection: false, chunks: [fakePoints(2), fakePoints(2)] };
    await expectRefusal(
      () => parseResponseMessage(encodeResponseMessage([reversed.subarray(0, 66), reversed.subarray(66)]), request),
      'PSI_MALFORMED_MESSAGE',
    );
    await expectRefusal(
      () => parseResponseMessage(encodeResponseMessage([sorted.subarray(0, 99)]), request),
      'PSI_MALFORMED_MESSAGE',
    );
  });
});
