import { InvalidInputError } from '../errors/cleanroom-error.ts';

/** A diagnostic about privacy parameters: a stable code, a sentence, and data. */
export interface DpProblem {
  readonly code: string;
  readonly message: string;
  readonly details: Readonly<Record<string, unknown>>;
}

/** The smallest epsilon a query may state. */
export const MIN_EPSILON = 1e-9;

/** Per-query ceilings configured by the policy. */
export interface DpLimits {
  readonly maxEpsilonPerQuery: number;
  /** Defaults to no ceiling below 1. */
  readonly maxDeltaPerQuery?: number;
}

/** Problems with a stated (epsilon, delta); empty when they are acceptable. */
export function privacyParameterProblems(input: {
  epsilon: number;
  delta: number;
  limits?: DpLimits;
  deltaRequiredBy?: readonly string[];
}): DpProblem[] {
  const problems: DpProblem[] = [];
  const { epsilon, delta, limits } = input;
  if (typeof epsilon !== 'number' || !Number.isFinite(epsilon) || epsilon <= 0) {
    problems.push({ code: 'DP_INVALID_EPSILON', message: 'epsilon must be a finite number greater than 0', details: { epsilon } });
  } else if (epsilon < MIN_EPSILON) {
    // Noise scales are Δ/ε: far below this they leave the range of exact arithmetic (and answer nothing).
    problems.push({ code: 'DP_EPSILON_TOO_SMALL', message: `epsilon ${epsilon} is below the smallest the room accepts, ${MIN_EPSILON}: the noise would swamp any answer`, details: { epsilon, min: MIN_EPSILON } });
  } else if (limits !== undefined && epsilon > limits.maxEpsilonPerQuery) {
    problems.push({
      code: 'DP_EPSILON_TOO_LARGE',
      message: `epsilon ${epsilon} is above the per-query maximum ${limits.maxEpsilonPerQuery}`,
      details: { epsilon, max: limits.maxEpsilonPerQuery },
    });
  }
  if (typeof delta !== 'number' || !Number.isFinite(delta) || delta < 0 || delta >= 1) {
    problems.push({ code: 'DP_INVALID_DELTA', message: 'delta must be a number with 0 ≤ delta < 1', details: { delta } });
  } else {
    if (limits?.maxDeltaPerQuery !== undefined && delta > limits.maxDeltaPerQuery) {
      problems.push({
        code: 'DP_DELTA_TOO_LARGE',
        message: `delta ${delta} is above the per-query maximum ${limits.maxDeltaPerQuery}`,
        details: { delta, max: limits.maxDeltaPerQuery },
      });
    }
    const requiredBy = input.deltaRequiredBy ?? [];
    if (delta === 0 && requiredBy.length > 0) {
      problems.push({
        code: 'DP_DELTA_REQUIRED',
        message: `delta must be greater than 0 for ${requiredBy.join(' and ')}`,
        details: { requiredBy },
      });
    }
  }
  return problems;
}

/** Throws one InvalidInputError carrying the first problem's code and every problem in its details. */
export function throwIfProblems(problems: readonly DpProblem[]): void {
  const [first] = problems;
  if (first === undefined) return;
  throw new InvalidInputError(first.code, first.message, { ...first.details, problems });
}

/** Validates a stated (epsilon, delta) against the limits, throwing InvalidInputError DP_* codes. */
export function validatePrivacyParameters(input: {
  epsilon: number;
  delta: number;
  limits?: DpLimits;
  deltaRequiredBy?: readonly string[];
}): void {
  throwIfProblems(privacyParameterProblems(input));
}
