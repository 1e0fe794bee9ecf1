import { privacyParameterProblems } from './dp-parameters.ts';
import { refuseIf } from '../errors/refused-error.ts';
import type { RandomSource } from './random-source.ts';

/** The bound on the loss's second derivative: logistic loss, σ(z)(1 − σ(z)) ≤ 1/4. */
export const LOGISTIC_CURVATURE = 0.25;

/** What objective perturbation needs: the ridge actually used and the ε left for the noise vector. */
export interface ObjectivePerturbationPlan {
  /** Λ in J(β) = Σ ℓ + (Λ/2)‖β‖² + bᵀβ: at least the caller's, raised until the Jacobian term costs ε/2 */
  readonly ridge: number;
  /** b has density ∝ exp(−noiseEpsilon·‖b‖) */
  readonly noiseEpsilon: number;
  readonly epsilon: number;
}

/**
 * Objective perturbation (Chaudhuri, Monteleoni & Sarwate, JMLR 2011, Algorithm 2), in the sum form
 * J(β) = Σᵢ ℓ(rowᵢ, β) + (Λ/2)‖β‖² + bᵀβ, for neighbours that add or remove one person, with every
 * row's ‖x‖ ≤ 1, |ℓ'| ≤ 1 and 0 ≤ ℓ'' ≤ c. The exact minimiser β* determines b; one more row moves b
 * by at most 1 in L2 (its gradient term) and the Jacobian of b ↦ β* by a rank-one term, whose
 * determinant ratio is at most 1 + c/Λ. So β* is ε-DP with ε = noiseEpsilon + log(1 + c/Λ). n is not
 * used anywhere: the analysis needs neither n nor a noisy n. Λ is raised, if needed, to c/(e^{ε/2} − 1)
 * so that the Jacobian costs at most half of ε.
 */
export function planObjectivePerturbation(input: {
  epsilon: number;
  ridge: number;
  curvature: number;
}): ObjectivePerturbationPlan {
  refuseIf(privacyParameterProblems({ epsilon: input.epsilon, delta: 0 }));
  if (!(input.ridge >= 0) || !(input.curvature > 0)) throw new RangeError('ridge ≥ 0 and curvature > 0 are needed');
  const ridge = Math.max(input.ridge, input.curvature / Math.expm1(input.epsilon / 2));
  const noiseEpsilon = input.epsilon - Math.log1p(input.curvature / ridge);
  if (!(noiseEpsilon > 0)) throw new RangeError('the ridge leaves no ε for the noise vector');
  return { ridge, noiseEpsilon, epsilon: input.epsilon };
}

/** A uniform double in (0, 1) from 53 random bits (never 0, so its logarithm is finite). */
const uniformOpen = (random: RandomSource) => (Number(random.uniformBigInt(2n ** 53n)) + 0.5) / 2 ** 53;

/**
 * The noise vector b in d dimensions with density ∝ exp(−ε‖b‖): its norm is Gamma(d, 1/ε) (a sum of
 * d exponentials), its direction uniform on the sphere (normalised Gaussians by Box–Muller).
 * Continuous, unlike the rest of src/privacy: it enters an optimisation, not a released sum; the
 * coefficients it yields are rounded before release (src/model).
 */
export function sampleObjectiveNoise(d: number, epsilon: number, random: RandomSource): number[] {
  if (!Number.isInteger(d) || d < 1 || !(epsilon > 0)) throw new RangeError('d ≥ 1 and ε > 0 are needed');
  let norm = 0;
  for (let i = 0; i < d; i += 1) norm -= Math.log(uniformOpen(random));
  norm /= epsilon;
  const direction = Array.from({ length: d }, () => {
    const r = Math.sqrt(-2 * Math.log(uniformOpen(random)));
    return r * Math.cos(2 * Math.PI * uniformOpen(random));
  });
  const length = Math.sqrt(direction.reduce((s, v) => s + v * v, 0)) || 1;
  return direction.map((v) => (v / length) * norm);
}
