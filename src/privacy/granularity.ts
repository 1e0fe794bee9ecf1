/**
 * Real-valued aggregates are released on a grid of powers of two (the "snapping" of Mironov 2012,
 * done with exact discrete noise as in Google's "Secure Noise Generation" note): the value is
 * expressed as an integer number of grid steps, integer noise is added, and the release is
 * granularity·(steps + noise). Every released double is then an exact multiple of the granularity,
 * so its low-order bits carry nothing about the exact aggregate.
 */

/** Grid steps per unit of the reference magnitude: rounding then costs at most 2^-20 relative sensitivity. */
export const GRID_BITS = 20;

const MIN_EXPONENT = -1000;
const MAX_EXPONENT = 1000;

/**
 * The granularity for a real-valued aggregate: the largest power of two at most
 * reference·2^-GRID_BITS, where reference is a public magnitude (the smaller of the per-row bound and
 * the noise scale). It depends only on public parameters, never on the data.
 */
export function chooseGranularity(reference: number): number {
  if (!(reference > 0) || !Number.isFinite(reference))
    throw new RangeError(`granularity needs a positive finite reference, got ${reference}`);
  const exponent = Math.floor(Math.log2(reference)) - GRID_BITS;
  return 2 ** Math.min(MAX_EXPONENT, Math.max(MIN_EXPONENT, exponent));
}

/** True for 2^k with k in the range the grid uses, so that x/granularity and k·granularity are exact. */
export function isGranularity(granularity: number): boolean {
  if (!(granularity > 0) || !Number.isFinite(granularity)) return false;
  const exponent = Math.log2(granularity);
  return (
    Number.isInteger(exponent) && exponent >= MIN_EXPONENT && exponent <= MAX_EXPONENT && 2 ** exponent === granularity
  );
}

/**
 * round(x / granularity) as an exact integer. Dividing by a power of two is exact for doubles in the
 * grid's range, and a double ≥ 2^53 is already an integer, so BigInt() never sees a fraction.
 */
export function toGridSteps(x: number, granularity: number): bigint {
  const steps = Math.round(x / granularity);
  if (!Number.isFinite(steps)) throw new RangeError(`value ${x} is out of the grid's range`);
  return BigInt(steps);
}

/**
 * granularity·steps as a double. Beyond 2^53 steps Number() rounds, but that is post-processing of
 * an already-noised integer and still lands on the grid.
 */
export function fromGridSteps(steps: bigint, granularity: number): number {
  return Number(steps) * granularity;
}
