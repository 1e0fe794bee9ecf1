import { privacyParameterProblems } from './dp-parameters.ts';
import { refuseIf } from '../errors/refused-error.ts';
import { chooseGranularity, toGridSteps } from './granularity.ts';
import { calibrateGaussian, releaseGridSteps } from './noise-calibration.ts';
import type { RandomSource } from './random-source.ts';
import { multiply, rational } from './rational.ts';
import { zcdpRhoFor } from './zcdp.ts';

/** A released vector: the noisy values and the per-coordinate noise sigma, in real units. */
export interface GaussianVectorOutput {
  readonly values: number[];
  readonly sigma: number;
  readonly granularity: number;
}

/**
 * Releases a vector with (ε, δ)-DP: the Gaussian mechanism on its L2 sensitivity Δ (one person
 * changes the whole vector by at most Δ in L2: a row's x·xᵀ in Frobenius norm, or x·y), with
 * independent discrete Gaussian noise per coordinate calibrated through zCDP. Every coordinate is
 * snapped to one power-of-two grid first; rounding moves the vector by at most √d·γ/2 per input, so
 * the sensitivity used is ⌈(Δ + √d·γ) / γ⌉ steps.
 */
export function gaussianVectorMechanism(input: {
  values: readonly number[];
  l2Sensitivity: number;
  epsilon: number;
  delta: number;
  random: RandomSource;
}): GaussianVectorOutput {
  refuseIf(
    privacyParameterProblems({
      epsilon: input.epsilon,
      delta: input.delta,
      deltaRequiredBy: ['the Gaussian mechanism'],
    }),
  );
  const { l2Sensitivity: sensitivity, values } = input;
  if (!(sensitivity > 0) || !Number.isFinite(sensitivity))
    throw new RangeError('l2Sensitivity must be a finite number greater than 0');
  if (!values.every(Number.isFinite)) throw new RangeError('every value must be finite');
  const baseSigma = sensitivity / Math.sqrt(2 * zcdpRhoFor(input.epsilon, input.delta));
  const granularity = chooseGranularity(Math.min(sensitivity, baseSigma));
  const steps = BigInt(Math.ceil((sensitivity + Math.sqrt(values.length) * granularity) / granularity));
  const spec = calibrateGaussian({
    gridL2Squared: multiply(rational(steps), rational(steps)),
    epsilon: input.epsilon,
    delta: input.delta,
    granularity,
  });
  return {
    values: values.map((v) => releaseGridSteps(spec, toGridSteps(v, granularity), input.random)),
    sigma: spec.scale,
    granularity,
  };
}
