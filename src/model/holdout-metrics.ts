import { laplaceMechanism, type RandomSource } from '../privacy/index.ts';
import {
  aggregateCall,
  castTo,
  columnRef,
  compare,
  double,
  functionCall,
  integer,
  rank,
  selectNode,
  stringConstant,
  subqueryRef,
  windowAggregate,
  type SqlNode,
} from '../query/sql-tree.ts';
import { logLoss, scoredRows } from './logistic-regression.ts';
import { clipTo, type BoundedColumn } from './sufficient-statistics.ts';

/**
 * Held-out metrics: a public, salted hash of the privacy unit sends 18% of the people to a holdout
 * the model never sees (Ads Data Hub's share). The split is a function of the person alone, so
 * adding or removing one person changes one side only: training and holdout are disjoint and their
 * releases compose in parallel (the model's ε is charged once). Metrics are one DuckDB pass over
 * the holdout at the released β; with DP each is noised from the same ε.
 */
export const HOLDOUT_PER_MILLE = 180;

/** TRUE for the holdout's people: hash(salt ‖ unit) mod 1000 < 180. */
export function holdoutPredicate(unit: SqlNode, salt: string): SqlNode {
  const bucket = functionCall('%', [
    functionCall('hash', [functionCall('concat', [stringConstant(salt), castTo(unit, 'VARCHAR')])]),
    integer(1000),
  ]);
  return compare('COMPARE_LESSTHAN', bucket, integer(HOLDOUT_PER_MILLE));
}

const times = (a: SqlNode, b: SqlNode) => functionCall('*', [a, b]);
const plus = (a: SqlNode, b: SqlNode) => functionCall('+', [a, b]);
const minus = (a: SqlNode, b: SqlNode) => functionCall('-', [a, b]);
const between = clipTo;

/** The exact holdout sums of a linear model: n, Σy, Σy², Σ(y − ŷ)² with ŷ kept inside the label's bounds. */
export interface LinearHoldoutSums {
  readonly n: number;
  readonly sumY: number;
  readonly sumY2: number;
  readonly sse: number;
}

export function linearHoldoutTree(
  from: SqlNode,
  features: readonly BoundedColumn[],
  label: BoundedColumn,
  beta: readonly number[],
): SqlNode {
  const [low, high] = label.bounds;
  const rows = scoredRows(from, features, true, label.value, beta);
  const y = between(rows.y, low, high);
  const residual = minus(y, between(rows.eta, low, high));
  return selectNode({
    select: [
      aggregateCall('count_star', []),
      aggregateCall('sum', [y]),
      aggregateCall('sum', [times(y, y)]),
      aggregateCall('sum', [times(residual, residual)]),
    ],
    from: rows.clipped,
  });
}

export function readLinearHoldout(row: readonly unknown[]): LinearHoldoutSums {
  const [n, sumY, sumY2, sse] = row.map((v) => (v === null || v === undefined ? 0 : Number(v)));
  return { n: n ?? 0, sumY: sumY ?? 0, sumY2: sumY2 ?? 0, sse: sse ?? 0 };
}

/** Log-loss is measured with p kept inside [0.001, 0.999], so one person moves the sum by at most ln 1000. */
const LOSS_P = 1e-3;
const LOSS_BOUND = Math.log(1 / LOSS_P);

/**
 * The exact holdout sums of a logistic model, in one row: positives and negatives, correct predictions
 * (p ≥ ½ ⇔ y = 1), summed log-loss, and the sum of the positives' ranks among all held-out scores
 * (ties averaged), from which the AUC follows (Mann–Whitney).
 */
export interface LogisticHoldoutSums {
  readonly positives: number;
  readonly negatives: number;
  readonly correct: number;
  readonly loss: number;
  readonly positiveRankSum: number;
}

export function logisticHoldoutTree(
  from: SqlNode,
  features: readonly BoundedColumn[],
  label: SqlNode,
  beta: readonly number[],
): SqlNode {
  const rows = scoredRows(from, features, true, label, beta);
  const p = functionCall('/', [double(1), plus(double(1), functionCall('exp', [functionCall('-', [rows.eta])]))]);
  const withP = selectNode({
    select: [
      { ...rows.y, alias: '__cr_y' },
      { ...p, alias: '__cr_p' },
    ],
    from: rows.clipped,
  });
  const scored = (name: string) => columnRef(['__cr_scored', name]);
  // A score's average rank: its first rank plus half the other rows tied with it.
  const ranked = selectNode({
    select: [
      scored('__cr_y'),
      scored('__cr_p'),
      {
        ...plus(
          rank([scored('__cr_p')]),
          functionCall('/', [minus(windowAggregate('count_star', [], [scored('__cr_p')]), double(1)), double(2)]),
        ),
        alias: '__cr_rank',
      },
    ],
    from: subqueryRef(withP, '__cr_scored'),
  });
  const col = (name: string) => columnRef(['__cr_ranked', name]);
  const y = col('__cr_y');
  const pp = col('__cr_p');
  const predicted = castTo(compare('COMPARE_GREATERTHANOREQUALTO', pp, double(0.5)), 'DOUBLE');
  const correct = minus(double(1), functionCall('abs', [minus(predicted, y)]));
  const bounded = between(pp, LOSS_P, 1 - LOSS_P);
  const loss = logLoss(y, bounded);
  return selectNode({
    select: [
      aggregateCall('sum', [y]),
      aggregateCall('sum', [minus(double(1), y)]),
      aggregateCall('sum', [correct]),
      aggregateCall('sum', [loss]),
      aggregateCall('sum', [times(y, col('__cr_rank'))]),
    ],
    from: subqueryRef(ranked, '__cr_ranked'),
  });
}

export function readLogisticHoldout(row: readonly unknown[]): LogisticHoldoutSums {
  const [positives, negatives, correct, loss, positiveRankSum] = row.map((v) =>
    v === null || v === undefined ? 0 : Number(v),
  );
  return {
    positives: positives ?? 0,
    negatives: negatives ?? 0,
    correct: correct ?? 0,
    loss: loss ?? 0,
    positiveRankSum: positiveRankSum ?? 0,
  };
}

/** AUC: the share of (positive, negative) pairs ranked right, a tie counting ½ (Mann–Whitney U / (P·N)). */
export function holdoutAuc(s: LogisticHoldoutSums): number | undefined {
  const { positives: p, negatives: n } = s;
  return p > 0 && n > 0 ? (s.positiveRankSum - (p * (p + 1)) / 2) / (p * n) : undefined;
}

/** Metrics as the card states them: values, and whether (and with what) noise was added. */
export interface HoldoutMetrics {
  readonly people: number;
  readonly r2?: number;
  readonly rmse?: number;
  readonly auc?: number;
  readonly logLoss?: number;
  readonly accuracy?: number;
  readonly positives?: number;
  /** metrics that were not released, and why */
  readonly withheld?: Readonly<Record<string, string>>;
}

const clamp01 = (v: number) => Math.min(1, Math.max(0, v));

/** Exact holdout metrics of a linear model (no DP); the DP ones are this over noisy sums. */
export function linearHoldoutMetrics(s: LinearHoldoutSums): HoldoutMetrics {
  const n = Math.max(1, s.n);
  const sst = s.sumY2 - (s.sumY * s.sumY) / n;
  return {
    people: s.n,
    r2: sst > 0 ? Math.min(1, 1 - s.sse / sst) : 0,
    rmse: Math.sqrt(Math.max(0, s.sse) / n),
  };
}

/**
 * DP holdout metrics of a linear model, ε split in four (basic composition): n (sensitivity 1),
 * Σy (max|y|), Σy² (max y²) and Σ(y − ŷ)² ((high − low)², both inside the label's bounds), each by
 * the room's discrete Laplace mechanism; R² and RMSE are post-processing of the noisy sums.
 */
export function privateLinearHoldoutMetrics(
  sums: LinearHoldoutSums,
  labelBounds: readonly [number, number],
  epsilon: number,
  random: RandomSource,
): HoldoutMetrics {
  const share = epsilon / 4;
  const [low, high] = labelBounds;
  const yBound = Math.max(Math.abs(low), Math.abs(high));
  const noisy = (value: number, l1Sensitivity: number, domain: 'integer' | 'real' = 'real') =>
    laplaceMechanism({ value, l1Sensitivity, epsilon: share, random, domain }).value;
  return linearHoldoutMetrics({
    n: Math.max(0, Math.round(noisy(sums.n, 1, 'integer'))),
    sumY: noisy(sums.sumY, yBound),
    sumY2: noisy(sums.sumY2, yBound * yBound),
    sse: noisy(sums.sse, (high - low) ** 2),
  });
}

/** Exact holdout metrics of a logistic model (no DP). */
export function logisticHoldoutMetrics(t: LogisticHoldoutSums): HoldoutMetrics {
  const n = t.positives + t.negatives;
  const auc = holdoutAuc(t);
  return {
    people: n,
    positives: t.positives,
    accuracy: n > 0 ? t.correct / n : 0,
    logLoss: n > 0 ? t.loss / n : 0,
    ...(auc === undefined ? { withheld: { auc: 'the holdout has no positives or no negatives' } } : { auc }),
  };
}

/** The AUC is released only when the smaller class is at least this large (its noise is then ≤ 1/(ε·this)). */
export const MIN_AUC_CLASS = 30;

/**
 * DP holdout metrics of a logistic model, ε split in four (basic composition):
 * - the people per label (a histogram: one person is in one cell, sensitivity 1);
 * - correct predictions (sensitivity 1) and the summed log-loss (ln 1000);
 * - the AUC. One person moves U/(P·N) by at most 1/min(P, N), which is itself private, so the
 *   room proposes a lower bound m = min(P̃, Ñ) − b·ln(1/δ) from the noisy counts (b their Laplace
 *   scale; it fails with probability ≤ δ) and releases AUC + Laplace(1/(m·ε/4)) only when
 *   m ≥ MIN_AUC_CLASS (a propose-test-release argument: (ε, δ)). Without δ the AUC is withheld.
 */
export function privateLogisticHoldoutMetrics(
  t: LogisticHoldoutSums,
  privacy: { readonly epsilon: number; readonly delta: number },
  random: RandomSource,
): HoldoutMetrics {
  const share = privacy.epsilon / 4;
  const count = (value: number) =>
    Math.max(
      0,
      Math.round(laplaceMechanism({ value, l1Sensitivity: 1, epsilon: share, random, domain: 'integer' }).value),
    );
  const positives = count(t.positives);
  const negatives = count(t.negatives);
  const n = Math.max(1, positives + negatives);
  const correct = laplaceMechanism({ value: t.correct, l1Sensitivity: 1, epsilon: share, random, domain: 'integer' });
  const loss = laplaceMechanism({ value: t.loss, l1Sensitivity: LOSS_BOUND, epsilon: share, random });
  const withheld: Record<string, string> = {};
  let auc: number | undefined;
  const exactAuc = holdoutAuc(t);
  if (privacy.delta <= 0)
    withheld.auc = "a DP AUC needs the template's dp.delta (its noise depends on the class sizes)";
  else {
    const m = Math.min(positives, negatives) - (1 / share) * Math.log(1 / privacy.delta);
    if (m < MIN_AUC_CLASS || exactAuc === undefined)
      withheld.auc = `too few positives or negatives in the holdout for a DP AUC (about ${MIN_AUC_CLASS} of each)`;
    else auc = clamp01(laplaceMechanism({ value: exactAuc, l1Sensitivity: 1 / m, epsilon: share, random }).value);
  }
  return {
    people: positives + negatives,
    positives,
    accuracy: clamp01(correct.value / n),
    logLoss: Math.max(0, loss.value / n),
    ...(auc === undefined ? {} : { auc }),
    ...(Object.keys(withheld).length > 0 ? { withheld } : {}),
  };
}
