import { diagnostic, type Diagnostic } from '../errors/diagnostic.ts';
import { refuseIf } from '../errors/refused-error.ts';

/** The smallest epsilon a query may state. */
export const MIN_EPSILON = 1e-9;

/** Per-query ceilings configured by the policy. */
export interface DpLimits {
  readonly maxEpsilonPerQuery: number;
  /** Defaults to no ceiling below 1. */
  readonly maxDeltaPerQuery?: number;
  /** Where the policy sets these limits, for diagnostics (e.g. "datasets.impressions.rules.dp"). */
  readonly rule?: string;
}

/** What any DP query must state, whatever a policy says. */
const RULE = 'differential privacy: 0 < epsilon, 0 ≤ delta < 1';

/** Problems with a stated (epsilon, delta); empty when they are acceptable. */
export function privacyParameterProblems(input: {
  epsilon: number;
  delta: number;
  limits?: DpLimits;
  deltaRequiredBy?: readonly string[];
}): Diagnostic[] {
  const problems: Diagnostic[] = [];
  const { epsilon, delta, limits } = input;
  if (typeof epsilon !== 'number' || !Number.isFinite(epsilon) || epsilon <= 0) {
    problems.push(
      diagnostic('DP_INVALID_EPSILON', 'epsilon must be a finite number greater than 0', RULE, { epsilon }),
    );
  } else if (epsilon < MIN_EPSILON) {
    // Noise scales are Δ/ε: far below this they leave the range of exact arithmetic (and answer nothing).
    problems.push(
      diagnostic(
        'DP_EPSILON_TOO_SMALL',
        `epsilon ${epsilon} is below the smallest the room accepts, ${MIN_EPSILON}: the noise would swamp any answer`,
        RULE,
        { epsilon, min: MIN_EPSILON },
      ),
    );
  } else if (limits !== undefined && epsilon > limits.maxEpsilonPerQuery) {
    const message = `epsilon ${epsilon} is above the per-query maximum ${limits.maxEpsilonPerQuery}`;
    problems.push(
      diagnostic('DP_EPSILON_TOO_LARGE', message, limits.rule ?? 'rules.dp.maxEpsilonPerQuery', {
        epsilon,
        max: limits.maxEpsilonPerQuery,
      }),
    );
  }
  if (typeof delta !== 'number' || !Number.isFinite(delta) || delta < 0 || delta >= 1) {
    problems.push(diagnostic('DP_INVALID_DELTA', 'delta must be a number with 0 ≤ delta < 1', RULE, { delta }));
  } else {
    if (limits?.maxDeltaPerQuery !== undefined && delta > limits.maxDeltaPerQuery) {
      const message = `delta ${delta} is above the per-query maximum ${limits.maxDeltaPerQuery}`;
      problems.push(
        diagnostic('DP_DELTA_TOO_LARGE', message, limits.rule ?? 'rules.dp.maxDeltaPerQuery', {
          delta,
          max: limits.maxDeltaPerQuery,
        }),
      );
    }
    const requiredBy = input.deltaRequiredBy ?? [];
    if (delta === 0 && requiredBy.length > 0) {
      problems.push(
        diagnostic('DP_DELTA_REQUIRED', `delta must be greater than 0 for ${requiredBy.join(' and ')}`, RULE, {
          requiredBy,
        }),
      );
    }
  }
  return problems;
}

/** Validates a stated (epsilon, delta) against the limits, throwing a RefusedError under the first DP_* code. */
export function validatePrivacyParameters(input: {
  epsilon: number;
  delta: number;
  limits?: DpLimits;
  deltaRequiredBy?: readonly string[];
}): void {
  refuseIf(privacyParameterProblems(input));
}
