import { createHash, randomBytes } from 'node:crypto';
import sodium from 'libsodium-wrappers-sumo';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  expandMessageXmd,
  hashToElements,
  hashToRistretto,
  montgomeryFromRistretto,
  multiplyElements,
  ristrettoFromUniform,
  sodiumReady,
} from '../../src/psi/native-group.ts';

// Known answers from the standards, and an independent BigInt model of X25519 (RFC 7748 §5) and of
// the curve equation, so the native path is checked against something that is not itself.

const P = 2n ** 255n - 19n;
const A24 = 121665n;
const hex = (h: string) => Buffer.from(h, 'hex');
const le = (bytes: Uint8Array) => BigInt('0x' + Buffer.from(bytes).reverse().toString('hex'));
const toLe = (n: bigint) => Buffer.from(n.toString(16).padStart(64, '0'), 'hex').reverse();
const mod = (n: bigint) => ((n % P) + P) % P;

function power(base: bigint, exponent: bigint): bigint {
  let result = 1n;
  let b = mod(base);
  for (let e = exponent; e > 0n; e >>= 1n) {
    if (e & 1n) result = (result * b) % P;
    b = (b * b) % P;
  }
  return result;
}

/** RFC 7748 §5's decodeScalar25519 and Montgomery ladder, written from the RFC's pseudocode. */
function referenceX25519(scalar: Uint8Array, u: Uint8Array): Buffer {
  const k = Buffer.from(scalar);
  k[0] = (k[0] as number) & 248;
  k[31] = ((k[31] as number) & 127) | 64;
  const kn = le(k);
  const x1 = le(u) & ((1n << 255n) - 1n);
  let [x2, z2, x3, z3, swap] = [1n, 0n, x1, 1n, 0n];
  for (let t = 254n; t >= 0n; t -= 1n) {
    const bit = (kn >> t) & 1n;
    if ((swap ^ bit) === 1n) [x2, x3, z2, z3] = [x3, x2, z3, z2];
    swap = bit;
    const a = mod(x2 + z2);
    const aa = mod(a * a);
    const b = mod(x2 - z2);
    const bb = mod(b * b);
    const e = mod(aa - bb);
    const c = mod(x3 + z3);
    const d = mod(x3 - z3);
    const da = mod(d * a);
    const cb = mod(c * b);
    x3 = mod((da + cb) ** 2n);
    z3 = mod(x1 * mod((da - cb) ** 2n));
    x2 = mod(aa * bb);
    z2 = mod(e * mod(aa + A24 * e));
  }
  if (swap === 1n) [x2, x3, z2, z3] = [x3, x2, z3, z2];
  return toLe(mod(x2 * power(z2, P - 2n)));
}

/** True when u is the u-coordinate of a point on Curve25519 (v² = u³ + 486662u² + u has a root), not its twist. */
const onCurve = (u: bigint) => {
  const rhs = mod(u * u * u + 486662n * u * u + u);
  return rhs === 0n || power(rhs, (P - 1n) / 2n) === 1n;
};

const elementsOf = (packed: Uint8Array) =>
  Array.from({ length: packed.length / 32 }, (_, i) => packed.subarray(i * 32, i * 32 + 32));

beforeAll(() => sodiumReady);

describe('the native PSI group', () => {
  it('expands messages as RFC 9380 appendix K.3 (expand_message_xmd, SHA-512)', () => {
    const dst = Buffer.from('QUUX-V01-CS02-with-expander-SHA512-256');
    const cases: [string, number, string][] = [
      ['', 32, '6b9a7312411d92f921c6f68ca0b6380730a1a4d982c507211a90964c394179ba'],
      ['abc', 32, '0da749f12fbe5483eb066a5f595055679b976e93abe9be6f0f6318bce7aca8dc'],
      [
        '',
        128,
        '41b037d1734a5f8df225dd8c7de38f851efdb45c372887be655212d07251b921' +
          'b052b62eaed99b46f72f2ef4cc96bfaf254ebbbec091e1a3b9e4fb5e5b619d2e' +
          '0c5414800a1d882b62bb5cd1778f098b8eb6cb399d5d9d18f5d5842cf5d13d7e' +
          'b00a7cff859b605da678b318bd0e65ebff70bec88c753b159a805d2c89c55961',
      ],
    ];
    for (const [message, length, expected] of cases)
      expect(expandMessageXmd(Buffer.from(message), dst, length).toString('hex')).toBe(expected);
  });

  it('maps uniform bytes to ristretto255 as RFC 9496 appendix A.3', () => {
    const cases = [
      [
        '5d1be09e3d0c82fc538112490e35701979d99e06ca3e2b5b54bffe8b4dc772c1' +
          '4d98b696a1bbfb5ca32c436cc61c16563790306c79eaca7705668b47dffe5bb6',
        '3066f82a1a747d45120d1740f14358531a8f04bbffe6a819f86dfe50f44a0a46',
      ],
      [
        'f116b34b8f17ceb56e8732a60d913dd10cce47a6d53bee9204be8b44f6678b27' +
          '0102a56902e2488c46120e9276cfe54638286b9e4b3cdb470b542d46c2068d38',
        'f26e5b6f7d362d2d2a94c5d0e7602cb4773c95a2e5c31a64f133189fa76ed61b',
      ],
      [
        '8422e1bbdaab52938b81fd602effb6f89110e1e57208ad12d9ad767e2e25510c' +
          '27140775f9337088b982d83d7fcf0b2fa1edffe51952cbe7365e95c86eaf325c',
        '006ccd2a9e6867e6a2c5cea83d3302cc9de128dd2a9a57dd8ee7b9d7ffe02826',
      ],
    ];
    for (const [input, output] of cases)
      expect(Buffer.from(ristrettoFromUniform(hex(input!))).toString('hex')).toBe(output);
  });

  it('multiplies as RFC 7748 §5.2 and as the reference ladder, on its own hashed elements too', () => {
    const scalar = hex('a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4');
    const u = hex('e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c');
    const expected = 'c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552';
    expect(Buffer.from(multiplyElements(scalar, u)).toString('hex')).toBe(expected);
    expect(referenceX25519(scalar, u).toString('hex')).toBe(expected);
    const key = new Uint8Array(randomBytes(32));
    const hashed = hashToElements(Array.from({ length: 20 }, (_, i) => `person${i}@example.com`));
    const native = elementsOf(multiplyElements(key, hashed));
    elementsOf(hashed).forEach((element, i) =>
      expect(Buffer.from(native[i]!).equals(referenceX25519(key, element))).toBe(true),
    );
  });

  it('puts every hashed identifier on the curve, where a raw hash as u lands half of them on the twist', () => {
    const ids = Array.from({ length: 2000 }, (_, i) => `id-${i}`);
    const hashed = elementsOf(hashToElements(ids)).map(le);
    expect(hashed.filter(onCurve)).toHaveLength(ids.length);
    const raw = ids.map((id) => le(createHash('sha256').update(id).digest()) & ((1n << 255n) - 1n));
    const onTwist = raw.filter((u) => !onCurve(u)).length;
    expect(onTwist).toBeGreaterThan(900);
    expect(onTwist).toBeLessThan(1100);
  });

  it('carries the ristretto255 element: u = 1/s² commutes with ristretto scalar multiplication', () => {
    for (let i = 0; i < 50; i += 1) {
      const s = hashToRistretto(`carry-${i}`);
      const k = new Uint8Array(randomBytes(32));
      const k2 = new Uint8Array(randomBytes(32));
      // X25519 clamps k; the same scalar reduced mod ℓ multiplies the ristretto element.
      const clamped = Buffer.from(k);
      clamped[0] = (clamped[0] as number) & 248;
      clamped[31] = ((clamped[31] as number) & 127) | 64;
      const viaRistretto = sodium.crypto_scalarmult_ristretto255(
        sodium.crypto_core_ristretto255_scalar_reduce(Buffer.concat([clamped, Buffer.alloc(32)])),
        s,
      );
      // A decoded ristretto representative may differ by 4-torsion, which the next clamped multiple clears.
      const left = multiplyElements(k2, montgomeryFromRistretto([viaRistretto]));
      const right = multiplyElements(k2, multiplyElements(k, montgomeryFromRistretto([s])));
      expect(Buffer.from(left).equals(Buffer.from(right))).toBe(true);
    }
  });

  it('gives the same doubly-blinded element in either order, and distinct identifiers distinct elements', () => {
    const ids = Array.from({ length: 500 }, (_, i) => `user${i}@example.com`);
    const a = new Uint8Array(randomBytes(32));
    const b = new Uint8Array(randomBytes(32));
    const h = hashToElements(ids);
    const ab = Buffer.from(multiplyElements(b, multiplyElements(a, h)));
    expect(ab.equals(Buffer.from(multiplyElements(a, multiplyElements(b, h))))).toBe(true);
    expect(new Set(elementsOf(ab).map((e) => Buffer.from(e).toString('hex'))).size).toBe(ids.length);
    expect(Buffer.from(hashToElements(['x'])).equals(Buffer.from(hashToElements(['y'])))).toBe(false);
  });
});
