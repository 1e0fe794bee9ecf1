import { discreteLaplaceUpperTail, sampleDiscreteLaplace } from './discrete-laplace.ts';
import type { RandomSource } from './random-source.ts';
import type { Rational } from './rational.ts';
import { approximate, divide, rational, rationalFromNumber } from './rational.ts';

/**
 * Laplace thresholding (Korolova, Kenthapadi, Mishra & Ntoulas 2009; the "Laplace" strategy of
 * Google's differential-privacy library and of Desfontaines, Voss, Gipson & Mandayam 2022,
 * "Differentially private partition selection"), with discrete Laplace noise.
 *
 * A group is released iff (distinct privacy units in it) + Z ≥ threshold, Z ~ DLap(maxGroups/epsilon).
 * Adding one unit (which reaches at most maxGroups = Δ0 groups) either raises the unit count of
 * groups that already exist by 1 each — an L1 change ≤ Δ0 on the vector of noisy counts, hence
 * epsilon-DP — or creates groups that had count 0 and so could never be released before. A new
 * group has exactly 1 unit, so it is released with probability P[Z ≥ threshold - 1] = q^(τ-1)/(1+q),
 * q = exp(-epsilon/Δ0). The threshold is the smallest integer making that at most
 * δ_g = 1 - (1 - delta)^(1/Δ0), so that all ≤ Δ0 new groups stay hidden with probability ≥ 1 - delta;
 * on that event the outputs obey the epsilon bound, giving (epsilon, delta)-DP in both directions.
 * For the continuous Laplace this is Google's τ = 1 - (Δ0/epsilon)·ln(2·δ_g) ≈ 1 + (Δ0/epsilon)·ln(Δ0/(2·delta)).
 */
export interface PartitionSelectionPlan {
  readonly epsilon: number;
  readonly delta: number;
  readonly maxGroups: number;
  /** Scale of the discrete Laplace noise on unit counts, Δ0/epsilon. */
  readonly scale: Rational;
  /** A group is released iff units + noise ≥ threshold. */
  readonly threshold: bigint;
  /** δ_g: the probability that a group of exactly one unit is released. */
  readonly perGroupDelta: number;
}

/** The threshold and noise for Laplace thresholding at (epsilon, delta) with maxGroups = Δ0. */
export function planPartitionSelection(input: {
  epsilon: number;
  delta: number;
  maxGroups: number;
}): PartitionSelectionPlan {
  const { epsilon, delta, maxGroups } = input;
  if (!(epsilon > 0) || !Number.isFinite(epsilon)) throw new RangeError('partition selection needs epsilon > 0');
  if (!(delta > 0) || !(delta < 1)) throw new RangeError('partition selection needs 0 < delta < 1');
  if (!Number.isSafeInteger(maxGroups) || maxGroups < 1)
    throw new RangeError('partition selection needs an integer maxGroups ≥ 1');
  const scale = divide(rational(BigInt(maxGroups)), rationalFromNumber(epsilon));
  const b = approximate(scale);
  const perGroupDelta = -Math.expm1(Math.log1p(-delta) / maxGroups);
  // A relative margin keeps float error in the tail from ever pushing it above δ_g.
  const target = perGroupDelta * (1 - 1e-9);
  const q = Math.exp(-1 / b);
  let m = Math.max(0, Math.ceil(b * Math.log(1 / (target * (1 + q)))));
  while (discreteLaplaceUpperTail(b, m) > target) m += 1;
  return { epsilon, delta, maxGroups, scale, threshold: BigInt(m + 1), perGroupDelta };
}

/** P[units + Z ≥ threshold]: the chance a group with this many distinct units is released. */
export function releaseProbability(plan: PartitionSelectionPlan, units: number): number {
  const b = approximate(plan.scale);
  const m = Number(plan.threshold) - units;
  if (m <= 0) return 1 - discreteLaplaceUpperTail(b, 1 - m);
  return discreteLaplaceUpperTail(b, m);
}

/** Groups as the bounded query sees them: a key and its count of distinct privacy units. */
export interface GroupUnits<K> {
  readonly key: K;
  readonly privacyUnits: number | bigint;
}

/** Which groups may be released. */
export interface PartitionSelection<K> {
  /** Released keys, in input order (sort them before release if the input order is data-dependent). */
  readonly released: K[];
  /**
   * How many groups were held back. NOT differentially private (it reveals the exact number of
   * groups): for the audit log inside the room, never for a result.
   */
  readonly suppressedCount: number;
}

/** Keeps each group whose distinct-unit count plus fresh discrete Laplace noise reaches the threshold. */
export function selectPartitions<K>(
  groups: readonly GroupUnits<K>[],
  plan: PartitionSelectionPlan,
  random: RandomSource,
): PartitionSelection<K> {
  const released: K[] = [];
  for (const group of groups) {
    const units = BigInt(group.privacyUnits);
    if (units + sampleDiscreteLaplace(plan.scale, random) >= plan.threshold) released.push(group.key);
  }
  return { released, suppressedCount: groups.length - released.length };
}
