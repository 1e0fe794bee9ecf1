/**
 * Exact non-negative rationals over BigInt. Noise parameters are carried as rationals so that the
 * samplers never round a probability (the floating-point artefacts of Mironov 2012 come from there).
 */
export interface Rational {
  readonly num: bigint;
  readonly den: bigint;
}

function gcd(a: bigint, b: bigint): bigint {
  let x = a < 0n ? -a : a;
  let y = b < 0n ? -b : b;
  while (y !== 0n) [x, y] = [y, x % y];
  return x;
}

/** Builds num/den in lowest terms; den must be positive. */
export function rational(num: bigint, den: bigint = 1n): Rational {
  if (den <= 0n) throw new RangeError('a rational needs a positive denominator');
  const divisor = gcd(num, den);
  return divisor > 1n ? { num: num / divisor, den: den / divisor } : { num, den };
}

/** The exact value of a finite double: every double is m·2^e, so no rounding happens here. */
export function rationalFromNumber(x: number): Rational {
  if (!Number.isFinite(x)) throw new RangeError(`not a finite number: ${x}`);
  let scaled = x;
  let den = 1n;
  // Doubling a non-integer double is exact (its magnitude is below 2^53), so the loop ends exactly.
  while (!Number.isInteger(scaled)) {
    scaled *= 2;
    den *= 2n;
  }
  return rational(BigInt(scaled), den);
}

/** a·b */
export function multiply(a: Rational, b: Rational): Rational {
  return rational(a.num * b.num, a.den * b.den);
}

/** a/b for b > 0 */
export function divide(a: Rational, b: Rational): Rational {
  if (b.num <= 0n) throw new RangeError('division by a non-positive rational');
  return rational(a.num * b.den, a.den * b.num);
}

/** a ≤ b, exactly. */
export function lessOrEqual(a: Rational, b: Rational): boolean {
  return a.num * b.den <= b.num * a.den;
}

/** A double near the rational, for display and error estimates only (never for sampling). */
export function approximate(r: Rational): number {
  const shift = Math.max(0, r.num.toString(2).length - 1000, r.den.toString(2).length - 1000);
  return Number(r.num >> BigInt(shift)) / Number(r.den >> BigInt(shift));
}

/** floor(sqrt(n)) for n ≥ 0, by Newton's method on integers. */
export function integerSqrt(n: bigint): bigint {
  if (n < 0n) throw new RangeError('square root of a negative integer');
  if (n < 2n) return n;
  let x = 1n << BigInt(Math.ceil(n.toString(2).length / 2));
  for (;;) {
    const next = (x + n / x) >> 1n;
    if (next >= x) return x;
    x = next;
  }
}

/** "num/den", for plans that are explained as JSON. */
export function rationalText(r: Rational): string {
  return r.den === 1n ? r.num.toString() : `${r.num}/${r.den}`;
}
