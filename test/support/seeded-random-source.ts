import type { RandomSource } from '../../src/privacy/random-source.ts';

/**
 * A deterministic RandomSource for tests only (xoshiro128**, seeded through splitmix32). It is
 * predictable by design: production code must never import it; src/ uses cryptoRandomSource.
 */
export function seededRandomSource(seed: number): RandomSource {
  let s = seed >>> 0;
  const splitmix = (): number => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
  const state = [splitmix(), splitmix(), splitmix(), splitmix()] as [number, number, number, number];
  const next32 = (): number => {
    const result = Math.imul(rotl(Math.imul(state[1], 5) >>> 0, 7), 9) >>> 0;
    const t = (state[1] << 9) >>> 0;
    state[2] = (state[2] ^ state[0]) >>> 0;
    state[3] = (state[3] ^ state[1]) >>> 0;
    state[1] = (state[1] ^ state[2]) >>> 0;
    state[0] = (state[0] ^ state[3]) >>> 0;
    state[2] = (state[2] ^ t) >>> 0;
    state[3] = rotl(state[3], 11);
    return result;
  };
  return {
    uniformBigInt(bound: bigint): bigint {
      if (bound <= 0n) throw new RangeError('uniformBigInt needs a positive bound');
      if (bound <= 0x1_0000_0000n) {
        const b = Number(bound);
        const limit = 0x1_0000_0000 - (0x1_0000_0000 % b);
        for (;;) {
          const r = next32();
          if (r < limit) return BigInt(r % b);
        }
      }
      const bits = bound.toString(2).length;
      const words = Math.ceil(bits / 32);
      const mask = (1n << BigInt(bits)) - 1n;
      for (;;) {
        let candidate = 0n;
        for (let i = 0; i < words; i += 1) candidate = (candidate << 32n) | BigInt(next32());
        candidate &= mask;
        if (candidate < bound) return candidate;
      }
    },
  };
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
