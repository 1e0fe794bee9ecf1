import { privacyParameterProblems } from './dp-parameters.ts';
import { refuseIf } from '../errors/refused-error.ts';
import { chooseGranularity, toGridSteps } from './granularity.ts';
import type { NoiseSpec } from './noise-calibration.ts';
import { calibrateGaussian, calibrateLaplace, releaseGridSteps } from './noise-calibration.ts';
import type { RandomSource } from './random-source.ts';
import type { Rational } from './rational.ts';
import { multiply, rational, rationalFromNumber } from './rational.ts';
import { zcdpRhoFor } from './zcdp.ts';

/**
 * 'integer': the value is an exact integer and noise is added to it directly (granularity 1).
 * 'real': the value is snapped to a power-of-two grid first; that rounding can move it by half a
 * step either way, so the sensitivity is counted as floor(Δ/γ) + 1 steps (at most Δ + γ).
 */
export type ValueDomain = 'integer' | 'real';

interface MechanismOutput {
  readonly value: number;
  /** Covers the exact value with probability ≥ 95% (noise and snapping; not clamping bias). */
  readonly ci95: readonly [number, number];
  readonly granularity: number;
}

/** A Laplace release: the noisy value, its scale b in real units and its 95% interval. */
export interface LaplaceOutput extends MechanismOutput {
  readonly scale: number;
}

/** A Gaussian release: the noisy value, its sigma in real units and its 95% interval. */
export interface GaussianOutput extends MechanismOutput {
  readonly sigma: number;
}

function checkSensitivity(sensitivity: number, name: string): void {
  if (typeof sensitivity !== 'number' || !Number.isFinite(sensitivity) || sensitivity <= 0) {
    // The room computes sensitivities from the policy; a bad one is a bug here, not a caller's input.
    throw new RangeError(`${name} must be a finite number greater than 0`);
  }
}

interface Snapped {
  readonly steps: bigint;
  readonly granularity: number;
  /** The sensitivity in grid steps. */
  readonly gridSensitivity: Rational;
  /** Largest distance between the value and its snapped value. */
  readonly roundingSlack: number;
}

function snap(value: number | bigint, sensitivity: number, domain: ValueDomain, reference: number): Snapped {
  if (domain === 'integer') {
    if (typeof value === 'number' && !Number.isSafeInteger(value)) {
      throw new RangeError('an integer-domain value must be a safe integer or a bigint');
    }
    return { steps: BigInt(value), granularity: 1, gridSensitivity: rationalFromNumber(sensitivity), roundingSlack: 0 };
  }
  const real = Number(value);
  if (!Number.isFinite(real)) throw new RangeError('the value must be finite');
  const granularity = chooseGranularity(Math.min(sensitivity, reference));
  const gridSensitivity = rational(BigInt(Math.floor(sensitivity / granularity)) + 1n);
  return { steps: toGridSteps(real, granularity), granularity, gridSensitivity, roundingSlack: granularity / 2 };
}

function output(spec: NoiseSpec, snapped: Snapped, random: RandomSource): MechanismOutput {
  const value = releaseGridSteps(spec, snapped.steps, random);
  const halfWidth = spec.ci95HalfWidth + snapped.roundingSlack;
  return { value, ci95: [value - halfWidth, value + halfWidth], granularity: snapped.granularity };
}

/**
 * Releases one value with epsilon-DP using discrete Laplace noise of scale Δ1/epsilon (in grid
 * steps when domain is 'real', the default).
 */
export function laplaceMechanism(input: {
  value: number | bigint;
  l1Sensitivity: number;
  epsilon: number;
  random: RandomSource;
  domain?: ValueDomain;
}): LaplaceOutput {
  refuseIf(privacyParameterProblems({ epsilon: input.epsilon, delta: 0 }));
  checkSensitivity(input.l1Sensitivity, 'l1Sensitivity');
  const snapped = snap(input.value, input.l1Sensitivity, input.domain ?? 'real', input.l1Sensitivity / input.epsilon);
  const spec = calibrateLaplace({
    gridL1: snapped.gridSensitivity,
    epsilon: input.epsilon,
    granularity: snapped.granularity,
  });
  return { ...output(spec, snapped, input.random), scale: spec.scale };
}

/**
 * Releases one value with (epsilon, delta)-DP using discrete Gaussian noise calibrated through
 * zCDP (Canonne, Kamath & Steinke 2020), valid for any epsilon > 0 and 0 < delta < 1.
 */
export function gaussianMechanism(input: {
  value: number | bigint;
  l2Sensitivity: number;
  epsilon: number;
  delta: number;
  random: RandomSource;
  domain?: ValueDomain;
}): GaussianOutput {
  refuseIf(
    privacyParameterProblems({
      epsilon: input.epsilon,
      delta: input.delta,
      deltaRequiredBy: ['the Gaussian mechanism'],
    }),
  );
  checkSensitivity(input.l2Sensitivity, 'l2Sensitivity');
  const baseSigma = input.l2Sensitivity / Math.sqrt(2 * zcdpRhoFor(input.epsilon, input.delta));
  const snapped = snap(input.value, input.l2Sensitivity, input.domain ?? 'real', baseSigma);
  const spec = calibrateGaussian({
    gridL2Squared: multiply(snapped.gridSensitivity, snapped.gridSensitivity),
    epsilon: input.epsilon,
    delta: input.delta,
    granularity: snapped.granularity,
  });
  return { ...output(spec, snapped, input.random), sigma: spec.scale };
}
