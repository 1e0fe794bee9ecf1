import { randomBytes, randomInt } from 'node:crypto';

/**
 * The only source of randomness the privacy code uses. Passing it in keeps every mechanism a pure
 * function of (inputs, random source), so tests can replay a seeded source.
 */
export interface RandomSource {
  /** A uniformly distributed integer in [0, bound); bound must be a positive integer. */
  uniformBigInt(bound: bigint): bigint;
}

// node:crypto's randomInt accepts ranges below 2^48 (exclusive); beyond that we draw bytes and reject.
const RANDOM_INT_LIMIT = 2n ** 48n;

function uniformFromBytes(bound: bigint): bigint {
  const bits = bound.toString(2).length;
  const bytes = Math.ceil(bits / 8);
  const mask = (1n << BigInt(bits)) - 1n;
  for (;;) {
    const candidate = BigInt(`0x${randomBytes(bytes).toString('hex')}`) & mask;
    // Rejection (not modulo) keeps the draw exactly uniform; each attempt succeeds with probability > 1/2.
    if (candidate < bound) return candidate;
  }
}

/** Production randomness: node:crypto's CSPRNG, exactly uniform by rejection sampling. */
export const cryptoRandomSource: RandomSource = {
  uniformBigInt(bound: bigint): bigint {
    if (bound <= 0n) throw new RangeError('uniformBigInt needs a positive bound');
    if (bound === 1n) return 0n;
    if (bound < RANDOM_INT_LIMIT) return BigInt(randomInt(Number(bound)));
    return uniformFromBytes(bound);
  },
};
