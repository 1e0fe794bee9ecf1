import type { DpAggregatePlan, DpPlan } from './dp-plan.ts';
import { releaseGridSteps } from './noise-calibration.ts';
import type { GroupUnits } from './partition-selection.ts';
import { selectPartitions } from './partition-selection.ts';
import type { RandomSource } from './random-source.ts';

/**
 * The exact, bounded value DuckDB computed for one aggregate in one group: an integer count, an
 * integer number of grid steps for a sum (see GridSumInput), or both for an average.
 */
export type ExactAggregate = number | bigint | { readonly sumSteps: number | bigint; readonly count: number | bigint };

/** One group of the bounded query: its key, its distinct privacy units, and its exact aggregates by alias. */
export interface ExactGroup<K> extends GroupUnits<K> {
  readonly values: Readonly<Record<string, ExactAggregate>>;
}

/** A released group: its key and its noisy aggregates by alias. */
export interface ReleasedGroup<K> {
  readonly key: K;
  readonly values: Readonly<Record<string, number>>;
}

/** The groups that passed partition selection with noisy values; suppressedCount is for the audit log only. */
export interface DpRelease<K> {
  readonly groups: ReleasedGroup<K>[];
  readonly suppressedCount: number;
}

// A non-integer here means the rewriter and the plan disagree, a bug rather than a bad request.
function exactInteger(value: number | bigint | undefined, alias: string): bigint {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value);
  throw new Error(`the exact value for ${alias} must be an integer (a count or a sum in grid steps)`);
}

/** Noises one exact aggregate as the plan says. */
export function releaseAggregate(
  plan: DpAggregatePlan,
  exact: ExactAggregate | undefined,
  random: RandomSource,
): number {
  if (plan.kind !== 'avg') {
    const steps = exactInteger(typeof exact === 'object' ? undefined : exact, plan.alias);
    return releaseGridSteps(plan.noise, steps, random);
  }
  if (typeof exact !== 'object') throw new Error(`the exact value for ${plan.alias} must be { sumSteps, count }`);
  const noisySum = releaseGridSteps(plan.sumNoise, exactInteger(exact.sumSteps, plan.alias), random);
  const noisyCount = releaseGridSteps(plan.countNoise, exactInteger(exact.count, plan.alias), random);
  // Post-processing of two DP values: a count below 1 would blow the ratio up, and the true mean
  // lies in the clamp range, so clamping the estimate only removes error.
  const mean = plan.input.center + noisySum / Math.max(1, noisyCount);
  return Math.min(plan.input.upper, Math.max(plan.input.lower, mean));
}

/**
 * Applies a DP plan to the bounded query's groups: partition selection first (when the plan has it),
 * then fresh noise for every aggregate of every released group.
 */
export function releaseDpGroups<K>(plan: DpPlan, groups: readonly ExactGroup<K>[], random: RandomSource): DpRelease<K> {
  let kept: readonly ExactGroup<K>[] = groups;
  let suppressedCount = 0;
  if (plan.partitionSelection !== null) {
    const selection = selectPartitions(
      groups.map((group, index) => ({ key: index, privacyUnits: group.privacyUnits })),
      plan.partitionSelection,
      random,
    );
    kept = selection.released.map((index) => groups[index] as ExactGroup<K>);
    suppressedCount = selection.suppressedCount;
  }
  const released = kept.map((group) => {
    const values: Record<string, number> = {};
    for (const aggregate of plan.aggregates)
      values[aggregate.alias] = releaseAggregate(aggregate, group.values[aggregate.alias], random);
    return { key: group.key, values };
  });
  return { groups: released, suppressedCount };
}
