/**
 * Zero-concentrated DP (Bun & Steinke 2016) to (epsilon, delta)-DP, with the conversion of
 * Canonne, Kamath & Steinke 2020 (§2.3): rho-zCDP implies (epsilon, delta)-DP for
 * delta = exp((a-1)(a·rho - epsilon)) / (a-1) · (1 - 1/a)^a, for EVERY a > 1.
 * Because any a gives a valid delta, the numerical search for a good a can only cost utility,
 * never privacy.
 */
export function zcdpDelta(rho: number, epsilon: number): number {
  if (rho <= 0) return 0;
  // The exponent is convex in a; its derivative is (2a-1)·rho - epsilon + ln(1 - 1/a).
  let low = 1.0001;
  let high = Math.max(2, (epsilon + 1) / (2 * rho) + 2);
  for (let i = 0; i < 200 && high - low > 1e-12 * high; i += 1) {
    const mid = (low + high) / 2;
    const derivative = (2 * mid - 1) * rho - epsilon + Math.log1p(-1 / mid);
    if (derivative < 0) low = mid;
    else high = mid;
  }
  const a = (low + high) / 2;
  const logDelta = (a - 1) * (a * rho - epsilon) + a * Math.log1p(-1 / a) - Math.log(a - 1);
  return Math.min(1, Math.exp(logDelta));
}

/**
 * The largest rho (up to search precision, always erring low) such that rho-zCDP implies
 * (epsilon, delta)-DP by the conversion above.
 */
export function zcdpRhoFor(epsilon: number, delta: number): number {
  if (!(epsilon > 0) || !(delta > 0) || !(delta < 1))
    throw new RangeError('zcdpRhoFor needs epsilon > 0 and 0 < delta < 1');
  // A small relative margin absorbs the floating-point error of evaluating zcdpDelta itself.
  const target = delta * (1 - 1e-9);
  // Bun & Steinke: rho-zCDP gives (rho + 2·sqrt(rho·ln(1/delta)), delta); solving for rho is a start.
  const logInverse = Math.log(1 / delta);
  let low = (Math.sqrt(logInverse + epsilon) - Math.sqrt(logInverse)) ** 2;
  while (zcdpDelta(low, epsilon) > target) low /= 2;
  let high = low * 2;
  while (zcdpDelta(high, epsilon) <= target) high *= 2;
  for (let i = 0; i < 200 && high - low > 1e-14 * high; i += 1) {
    const mid = (low + high) / 2;
    if (zcdpDelta(mid, epsilon) <= target) low = mid;
    else high = mid;
  }
  return low;
}
