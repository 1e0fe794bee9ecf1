import { diagnostic, type Diagnostic } from '../errors/diagnostic.ts';
import { refuseIf } from '../errors/refused-error.ts';
import type { DpLimits } from './dp-parameters.ts';
import { privacyParameterProblems } from './dp-parameters.ts';
import { chooseGranularity } from './granularity.ts';
import type { NoiseSpec } from './noise-calibration.ts';
import { calibrateGaussian, calibrateLaplace } from './noise-calibration.ts';
import type { PartitionSelectionPlan } from './partition-selection.ts';
import { planPartitionSelection } from './partition-selection.ts';
import { lessOrEqual, multiply, rational, rationalFromNumber } from './rational.ts';
import type { ClampBounds, ContributionBounds, Sensitivity } from './sensitivity.ts';
import { countDistinctUnitsSensitivity, countSensitivity, sumSensitivity } from './sensitivity.ts';
import { zcdpRhoFor } from './zcdp.ts';

/** The DP aggregates the rewriter can ask for. */
export type DpAggregateKind = 'count' | 'count_distinct_units' | 'sum' | 'avg';

/** One requested aggregate: its output alias, kind, and for sum/avg the metric clamp. */
export interface DpAggregateRequest {
  readonly alias: string;
  readonly kind: DpAggregateKind;
  readonly clamp?: ClampBounds;
  /** For sum: 'integer' when the metric is an integer column and the clamp bounds are integers. */
  readonly metricType?: 'integer' | 'real';
}

/** Everything a DP query states, with the contribution bounds the rewriter enforces. */
export interface DpQueryRequest {
  readonly mechanism: 'laplace' | 'gaussian';
  readonly epsilon: number;
  readonly delta: number;
  readonly contribution: ContributionBounds;
  /** True when the released groups come from the data (GROUP BY); false for one global group. */
  readonly partitionSelection: boolean;
  readonly aggregates: readonly DpAggregateRequest[];
  readonly limits: DpLimits;
}

/**
 * What the SQL must compute per group for a sum-like statistic, in whole grid steps:
 * SUM(CAST(ROUND((clamp(CAST(x AS DOUBLE), lower, upper) - center) / granularity) AS BIGINT)), NULLs skipped.
 * Rounding row by row and adding integers makes the sum exact, so the float-summation attacks on
 * sensitivity (Casacuberta et al., CCS 2022) do not apply, and each row moves it by at most
 * perRowSteps = ceil(max(|lower - center|, |upper - center|) / granularity) steps.
 */
export interface GridSumInput {
  readonly lower: number;
  readonly upper: number;
  readonly center: number;
  readonly granularity: number;
  readonly perRowSteps: bigint;
}

/** Noise for one released aggregate. AVG is two noisy statistics: a centred sum and a count. */
export type DpAggregatePlan =
  | {
      readonly alias: string;
      readonly kind: 'count' | 'count_distinct_units';
      readonly sensitivity: Sensitivity;
      readonly noise: NoiseSpec;
    }
  | {
      readonly alias: string;
      readonly kind: 'sum';
      readonly sensitivity: Sensitivity;
      readonly input: GridSumInput;
      readonly noise: NoiseSpec;
    }
  | {
      readonly alias: string;
      readonly kind: 'avg';
      readonly sensitivity: Sensitivity;
      readonly input: GridSumInput;
      readonly sumNoise: NoiseSpec;
      readonly countNoise: NoiseSpec;
    };

/** The noise for every statistic of one query, and what the query costs. */
export interface DpPlan {
  readonly mechanism: 'laplace' | 'gaussian';
  readonly contribution: ContributionBounds;
  /** Basic composition: the shares below add up to at most these, which are what the query stated. */
  readonly cost: { readonly epsilonSpent: number; readonly deltaSpent: number };
  readonly split: {
    /** Noisy statistics (AVG counts two) plus one for partition selection. */
    readonly epsilonShares: number;
    readonly epsilonPerShare: number;
    /** Partition selection plus, for Gaussian noise, every noisy statistic. */
    readonly deltaShares: number;
    readonly deltaPerShare: number;
  };
  readonly partitionSelection: PartitionSelectionPlan | null;
  readonly aggregates: readonly DpAggregatePlan[];
}

const MAX_CLAMP_MAGNITUDE = 2 ** 53;

/** total/shares rounded down so that shares·result ≤ total holds exactly, not just in doubles. */
function splitDown(total: number, shares: number): number {
  let share = total / shares;
  const limit = rationalFromNumber(total);
  while (share > 0 && !lessOrEqual(multiply(rationalFromNumber(share), rational(BigInt(shares))), limit)) {
    share -= share * 2 ** -52;
  }
  return share;
}

function isCount(bound: number): boolean {
  return Number.isSafeInteger(bound) && bound >= 1;
}

/** What a DP query states, as rules: each problem names its field. */
const REQUEST_RULE = 'DP query request';

/** Every reason a DP request cannot be planned; empty when it can. */
export function dpRequestProblems(request: DpQueryRequest): Diagnostic[] {
  const problems: Diagnostic[] = [];
  if (request.mechanism !== 'laplace' && request.mechanism !== 'gaussian') {
    problems.push(
      diagnostic('DP_INVALID_MECHANISM', 'mechanism must be laplace or gaussian', REQUEST_RULE, {
        mechanism: request.mechanism,
      }),
    );
  }
  const deltaRequiredBy = [
    ...(request.mechanism === 'gaussian' ? ['the Gaussian mechanism'] : []),
    ...(request.partitionSelection ? ['partition selection'] : []),
  ];
  problems.push(
    ...privacyParameterProblems({
      epsilon: request.epsilon,
      delta: request.delta,
      limits: request.limits,
      deltaRequiredBy,
    }),
  );
  const { maxGroups, maxRowsPerUnit } = request.contribution;
  if (!isCount(maxGroups) || !isCount(maxRowsPerUnit)) {
    const message = 'maxGroups and maxRowsPerUnit must be integers of at least 1';
    problems.push(diagnostic('DP_INVALID_CONTRIBUTION_BOUNDS', message, REQUEST_RULE, { maxGroups, maxRowsPerUnit }));
  }
  if (request.aggregates.length === 0)
    problems.push(diagnostic('DP_NO_AGGREGATES', 'a DP query needs at least one aggregate', REQUEST_RULE, {}));
  const seen = new Set<string>();
  for (const aggregate of request.aggregates) {
    if (seen.has(aggregate.alias)) {
      problems.push(
        diagnostic('DP_DUPLICATE_ALIAS', `the alias ${aggregate.alias} is used twice`, REQUEST_RULE, {
          alias: aggregate.alias,
        }),
      );
    }
    seen.add(aggregate.alias);
    if (!['count', 'count_distinct_units', 'sum', 'avg'].includes(aggregate.kind)) {
      const message = `${String(aggregate.kind)} has no DP form`;
      problems.push(
        diagnostic('DP_UNSUPPORTED_AGGREGATE', message, REQUEST_RULE, { alias: aggregate.alias, kind: aggregate.kind }),
      );
      continue;
    }
    if (aggregate.kind !== 'sum' && aggregate.kind !== 'avg') continue;
    const clamp = aggregate.clamp;
    const valid =
      clamp !== undefined &&
      Number.isFinite(clamp.lower) &&
      Number.isFinite(clamp.upper) &&
      clamp.lower < clamp.upper &&
      Math.max(Math.abs(clamp.lower), Math.abs(clamp.upper)) <= MAX_CLAMP_MAGNITUDE &&
      (aggregate.metricType !== 'integer' || (Number.isSafeInteger(clamp.lower) && Number.isSafeInteger(clamp.upper)));
    if (!valid) {
      const message =
        `${aggregate.alias} needs finite clamp bounds with lower < upper` +
        ' (integers for an integer metric, magnitude at most 2^53)';
      problems.push(
        diagnostic('DP_INVALID_CLAMP_BOUNDS', message, REQUEST_RULE, { alias: aggregate.alias, clamp: clamp ?? null }),
      );
    }
  }
  return problems;
}

interface Calibrator {
  /** The noise scale before any grid rounding, used only to pick a granularity. */
  baseScale(perGroup: number): number;
  spec(perGroupSteps: bigint, granularity: number): NoiseSpec;
}

function calibrator(request: DpQueryRequest, epsilon: number, delta: number): Calibrator {
  const maxGroups = BigInt(request.contribution.maxGroups);
  if (request.mechanism === 'laplace') {
    return {
      baseScale: (perGroup) => (request.contribution.maxGroups * perGroup) / epsilon,
      spec: (steps, granularity) => calibrateLaplace({ gridL1: rational(maxGroups * steps), epsilon, granularity }),
    };
  }
  const rho = zcdpRhoFor(epsilon, delta);
  return {
    baseScale: (perGroup) => (Math.sqrt(request.contribution.maxGroups) * perGroup) / Math.sqrt(2 * rho),
    spec: (steps, granularity) =>
      calibrateGaussian({ gridL2Squared: rational(maxGroups * steps * steps), epsilon, delta, granularity }),
  };
}

function gridSum(clamp: ClampBounds, center: number, integer: boolean, rows: number, noise: Calibrator): GridSumInput {
  const perRow = Math.max(Math.abs(clamp.lower - center), Math.abs(clamp.upper - center));
  const granularity = integer ? 1 : chooseGranularity(Math.min(perRow, noise.baseScale(perRow * rows)));
  return {
    lower: clamp.lower,
    upper: clamp.upper,
    center,
    granularity,
    perRowSteps: BigInt(Math.ceil(perRow / granularity)),
  };
}

/**
 * Splits the query's (epsilon, delta) equally (basic composition) over its noisy statistics and,
 * for GROUP BY queries, partition selection, and calibrates each statistic's discrete noise.
 * A request with `dpRequestProblems` is refused (RefusedError under the first DP_* code, every
 * problem in `details.diagnostics`): callers that want the reasons as data ask for them first.
 */
export function planDpAggregates(request: DpQueryRequest): DpPlan {
  refuseIf(dpRequestProblems(request));
  const statistics = request.aggregates.reduce((n, a) => n + (a.kind === 'avg' ? 2 : 1), 0);
  const epsilonShares = statistics + (request.partitionSelection ? 1 : 0);
  const deltaShares = (request.partitionSelection ? 1 : 0) + (request.mechanism === 'gaussian' ? statistics : 0);
  const epsilonPerShare = splitDown(request.epsilon, epsilonShares);
  const deltaPerShare = deltaShares > 0 ? splitDown(request.delta, deltaShares) : 0;
  const noise = calibrator(request, epsilonPerShare, deltaPerShare);
  const { maxGroups, maxRowsPerUnit } = request.contribution;
  const rows = BigInt(maxRowsPerUnit);

  const aggregates = request.aggregates.map((aggregate): DpAggregatePlan => {
    const { alias } = aggregate;
    switch (aggregate.kind) {
      case 'count':
        return {
          alias,
          kind: 'count',
          sensitivity: countSensitivity(request.contribution),
          noise: noise.spec(rows, 1),
        };
      case 'count_distinct_units':
        return {
          alias,
          kind: 'count_distinct_units',
          sensitivity: countDistinctUnitsSensitivity(request.contribution),
          noise: noise.spec(1n, 1),
        };
      case 'sum': {
        const clamp = aggregate.clamp as ClampBounds;
        const input = gridSum(clamp, 0, aggregate.metricType === 'integer', maxRowsPerUnit, noise);
        return {
          alias,
          kind: 'sum',
          sensitivity: sumSensitivity(request.contribution, clamp),
          input,
          noise: noise.spec(rows * input.perRowSteps, input.granularity),
        };
      }
      case 'avg': {
        const clamp = aggregate.clamp as ClampBounds;
        // Summing x - center (Google's BoundedMean) halves the sensitivity for one-sided ranges like [0, 100].
        const center = clamp.lower / 2 + clamp.upper / 2;
        const input = gridSum(clamp, center, false, maxRowsPerUnit, noise);
        const halfRange = { lower: clamp.lower - center, upper: clamp.upper - center };
        return {
          alias,
          kind: 'avg',
          sensitivity: sumSensitivity(request.contribution, halfRange),
          input,
          sumNoise: noise.spec(rows * input.perRowSteps, input.granularity),
          countNoise: noise.spec(rows, 1),
        };
      }
    }
  });

  const partitionSelection = request.partitionSelection
    ? planPartitionSelection({ epsilon: epsilonPerShare, delta: deltaPerShare, maxGroups })
    : null;
  return {
    mechanism: request.mechanism,
    contribution: request.contribution,
    cost: { epsilonSpent: request.epsilon, deltaSpent: deltaShares > 0 ? request.delta : 0 },
    split: { epsilonShares, epsilonPerShare, deltaShares, deltaPerShare },
    partitionSelection,
    aggregates,
  };
}
