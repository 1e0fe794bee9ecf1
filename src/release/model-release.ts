import { diagnostic } from '../errors/diagnostic.ts';
import { UnprocessableError } from '../errors/cleanroom-error.ts';
import { refuseIf } from '../errors/refused-error.ts';
import { adassp, coordinateBounds } from '../model/adassp.ts';
import { fitLinear } from '../model/linear-regression.ts';
import { project, pseudoInverseSymmetric } from '../model/linear-algebra.ts';
import {
  fitLogistic,
  fitLogisticPrivately,
  logisticPassTree,
  readLogisticPass,
  type LogisticPass,
} from '../model/logistic-regression.ts';
import {
  HOLDOUT_PER_MILLE,
  holdoutPredicate,
  linearHoldoutMetrics,
  linearHoldoutTree,
  logisticHoldoutMetrics,
  logisticHoldoutTree,
  privateLinearHoldoutMetrics,
  privateLogisticHoldoutMetrics,
  readLinearHoldout,
  readLogisticHoldout,
  type HoldoutMetrics,
} from '../model/holdout-metrics.ts';
import type { ModelTemplateDocument } from '../model/model-template.ts';
import { laplaceMechanism } from '../privacy/index.ts';
import {
  maxLeverageTree,
  readSufficientStatistics,
  sufficientStatisticsTree,
  trainedRange,
  type BoundedColumn,
} from '../model/sufficient-statistics.ts';
import type { EncodedFeature, TrainedModel } from '../model/model-card.ts';
import { requireResident } from './run-on-engine.ts';
import { featureView, type JoinedFeatures } from '../model/feature-view.ts';
import type { Collaboration, Dataset } from '../policy/collaboration.ts';
import type { PerPersonFeature } from '../policy/policy-document.ts';
import {
  caseWhen,
  castTo,
  columnRef,
  compare,
  double,
  integer,
  not,
  stringConstant,
  isNull,
  NULL_CONSTANT,
  type SqlNode,
} from '../query/sql-tree.ts';
import { requireOneRowPerPerson } from './one-row-per-person.ts';
import type { ReleaseContext } from './release-context.ts';

export type { EncodedFeature, TrainedModel } from '../model/model-card.ts';

/** Released coefficients keep 10 significant digits: the low bits of a continuous mechanism's output stay inside. */
const rounded = (values: readonly number[]) => values.map((v) => Number(v.toPrecision(10)));

type Scale = { readonly index: number; readonly low: number; readonly width: number };

/** β on features rescaled to (x − low)/width, as β on x itself: divide by the width, move the intercept. */
function inOriginalUnits(beta: readonly number[], scales: readonly Scale[]) {
  const out = [...beta];
  for (const { index, low, width } of scales) {
    out[index] = (beta[index] ?? 0) / width;
    out[0] = (out[0] ?? 0) - ((beta[index] ?? 0) * low) / width;
  }
  return out;
}

/** Standard errors in the original units: the covariance carried through the same linear map (A·Σ·Aᵀ). */
function standardErrorsInOriginalUnits(covariance: readonly (readonly number[])[], scales: readonly Scale[]) {
  const d = covariance.length;
  const map = Array.from({ length: d }, (_, i) => Array.from({ length: d }, (_, j) => (i === j ? 1 : 0)));
  for (const { index, low, width } of scales) {
    (map[index] as number[])[index] = 1 / width;
    (map[0] as number[])[index] = -low / width;
  }
  return map.map((row) => {
    let variance = 0;
    for (let j = 0; j < d; j += 1)
      for (let k = 0; k < d; k += 1) variance += (row[j] ?? 0) * (covariance[j]?.[k] ?? 0) * (row[k] ?? 0);
    return Math.sqrt(Math.max(0, variance));
  });
}

/** Share of a DP logistic model's ε for the noisy count of people trained on (objective perturbation gets the rest). */
const LOGISTIC_COUNT_SHARE = 0.05;

/**
 * Trains a model template's model on its dataset: one row per person or refuse; the design matrix
 * from the policy (numeric features clipped to their bounds, categories one-hot on the policy's
 * levels, an intercept); people split by a salted hash of the privacy unit into training (82%) and
 * holdout (18%); at least `minPeople` complete training rows or refuse; then OLS or AdaSSP (linear,
 * one pass) or IRLS or objective perturbation (logistic, one pass per Newton step); then one pass
 * of metrics over the holdout. The caller charges the DP budget before and audits after.
 */
export async function trainModel(
  ctx: ReleaseContext,
  collaboration: Collaboration,
  dataset: Dataset,
  template: ModelTemplateDocument,
  options: {
    /**
     * The room's secret salt of the holdout split, fixed per collaboration and dataset: a modeler can
     * neither compute who is held out nor pick a split by rewording a template.
     */
    readonly splitSalt: string;
    /** awaited after each pass */
    readonly onPass?: (pass: number, stage: 'training' | 'holdout') => void | Promise<void>;
  },
): Promise<TrainedModel> {
  const { splitSalt: salt, onPass } = options;
  const rules = dataset.rules.model;
  if (!rules) throw new Error('trainModel needs a dataset with model rules (the template check ensures it)');
  requireResident(ctx, collaboration, [dataset.name, ...(template.joined ?? []).map((j) => j.dataset)]);
  await requireOneRowPerPerson(ctx, collaboration, dataset, 'MODEL_NOT_ONE_ROW_PER_PERSON');
  const joined: JoinedFeatures[] = (template.joined ?? []).map((j) => {
    const lender = collaboration.datasets.get(j.dataset) as Dataset;
    const perPerson = lender.rules.model?.perPerson ?? {};
    return {
      dataset: lender,
      features: j.features.map((name) => ({ name, rule: perPerson[name] as PerPersonFeature })),
    };
  });
  const baseColumns = [
    ...new Set([dataset.rules.privacyUnit, template.label, ...template.features, ...template.categories]),
  ];
  const side = (holdout: boolean) =>
    featureView(collaboration.id, dataset, baseColumns, joined, (unit) =>
      holdout ? holdoutPredicate(unit, salt) : not(holdoutPredicate(unit, salt)),
    );
  const from = side(false);
  const holdoutFrom = side(true);
  const ref = (column: string) => columnRef(['__cr_x', column]);
  const columns: BoundedColumn[] = [];
  const encoded: EncodedFeature[] = [{ name: '(intercept)', encoding: 'intercept' }];
  // Numeric features are trained rescaled from their declared bounds to [−1, 1] around their middle
  // (public, so it costs no privacy): every column weighs alike in ‖x‖, which the DP mechanisms' noise
  // and ridge scale with, and centred columns keep X'X well conditioned (bench:models: AdaSSP's error at
  // 100k people, ε 1 fell from 22% with [0, 1] to ~5%). The coefficients are mapped back below.
  const scales: Scale[] = [];
  const numeric = (value: SqlNode, [low, high]: readonly [number, number]) => {
    const middle = (low + high) / 2;
    const half = (high - low) / 2;
    scales.push({ index: columns.length + 1, low: middle, width: half });
    columns.push({ value, bounds: [low, high], affine: { shift: middle, scale: half } });
  };
  for (const name of template.features) {
    const bounds = rules.features[name] as readonly [number, number];
    numeric(ref(name), bounds);
    encoded.push({ name, encoding: 'numeric', bounds });
  }
  for (const { dataset: lender, features } of joined)
    for (const { name, rule } of features) {
      numeric(ref(name), rule.bounds);
      const source = {
        dataset: lender.name,
        aggregate: rule.aggregate,
        ...(rule.column ? { column: rule.column } : {}),
      };
      encoded.push({ name, encoding: 'numeric', bounds: rule.bounds, from: source });
    }
  for (const name of template.categories) {
    for (const level of rules.categories?.[name] ?? []) {
      const oneHot = caseWhen(
        compare('COMPARE_EQUAL', castTo(ref(name), 'VARCHAR'), stringConstant(level)),
        integer(1),
        '',
        integer(0),
      );
      // A missing category is "none of the levels" (all zeros), not a missing row.
      columns.push({ value: { ...oneHot }, bounds: [0, 1] });
      encoded.push({ name, encoding: 'one-hot', level });
    }
  }
  const labelBounds = rules.labels[template.label] as readonly [number, number];
  // A logistic label is 1 at ½ and above, else 0 (NULL stays NULL: no row). Objective perturbation and
  // the holdout counts need y ∈ {0, 1}; the upload does not enforce a column's declared range.
  const labelValue =
    template.model === 'logistic'
      ? caseWhen(
          isNull(ref(template.label)),
          NULL_CONSTANT,
          '',
          caseWhen(
            compare('COMPARE_GREATERTHANOREQUALTO', castTo(ref(template.label), 'DOUBLE'), double(0.5)),
            double(1),
            '',
            double(0),
          ),
        )
      : ref(template.label);
  const label: BoundedColumn = { value: labelValue, bounds: labelBounds };
  // A linear model trains on the label less the middle of its bounds (public): the noise AdaSSP adds to
  // X'y scales with the largest |y|, which centring halves at best. Predictions add it back.
  const labelMiddle = template.model === 'linear' ? (labelBounds[0] + labelBounds[1]) / 2 : 0;
  const trainingLabel: BoundedColumn =
    labelMiddle === 0 ? label : { ...label, affine: { shift: labelMiddle, scale: 1 } };
  const d = columns.length + 1;
  // Largest |x_i| of each column of X as trained (the intercept's 1 first), and the row norm they bound.
  const coordinates = coordinateBounds(columns.map(trainedRange), true);
  const xNorm = Math.hypot(...coordinates);
  const run = async (tree: SqlNode) => (await ctx.engine.query(await ctx.parser.render(tree), {})).rows;
  // The strictest minimum of every dataset read.
  const strictest = [dataset, ...joined.map((j) => j.dataset)].reduce((a, b) =>
    (b.rules.model?.minPeople ?? 0) > (a.rules.model?.minPeople ?? 0) ? b : a,
  );
  const minPeople = strictest.rules.model?.minPeople ?? rules.minPeople;
  // With DP the count compared is the mechanism's noisy one (a refusal is then post-processing of a DP
  // release); an exact comparison would tell whether one person is in the view.
  const tooFew = (people: number) => {
    if (people < minPeople)
      refuseIf([
        diagnostic(
          'MODEL_TOO_FEW_PEOPLE',
          `The feature view has fewer than ${minPeople} people outside the holdout with every feature and the ` +
            `label${template.dp ? ' (by a noisy count)' : ''}: a model of "${strictest.name}" trains on at least ` +
            'that many.',
          `datasets.${strictest.name}.rules.model.minPeople`,
          { dataset: strictest.name, minPeople },
        ),
      ]);
  };
  // A person of a joined dataset does not add or remove a row: they change one row's joined features,
  // which is a removal and an addition. The mechanisms run at (ε/2, δ/(1 + e^(ε/2))) so that change
  // costs at most the template's (ε, δ) (group privacy for two steps).
  const stated = template.dp ? { epsilon: template.dp.epsilon, delta: template.dp.delta ?? 0 } : undefined;
  const dp =
    stated && joined.length > 0
      ? { epsilon: stated.epsilon / 2, delta: stated.delta / (1 + Math.exp(stated.epsilon / 2)) }
      : stated;
  // Training and holdout hold different people (a function of each person alone), so each side may
  // spend the whole ε: parallel composition, one charge.
  const evaluate = async (beta: readonly number[]): Promise<HoldoutMetrics> => {
    let metrics: HoldoutMetrics;
    if (template.model === 'linear') {
      const sums = readLinearHoldout((await run(linearHoldoutTree(holdoutFrom, columns, label, beta)))[0] ?? []);
      metrics = dp
        ? privateLinearHoldoutMetrics(sums, labelBounds, dp.epsilon, ctx.random)
        : linearHoldoutMetrics(sums);
    } else {
      const sums = readLogisticHoldout(
        (await run(logisticHoldoutTree(holdoutFrom, columns, label.value, beta)))[0] ?? [],
      );
      metrics = dp ? privateLogisticHoldoutMetrics(sums, dp, ctx.random) : logisticHoldoutMetrics(sums);
    }
    await onPass?.(1, 'holdout');
    // Exact metrics of a handful of people would describe those people: below the dataset's group
    // minimum they are withheld (with DP the noise covers any size).
    const least = dataset.rules.minGroupSize;
    if (!dp && metrics.people < least)
      return {
        people: metrics.people,
        withheld: { metrics: `fewer than ${least} people held out: exact metrics need at least minGroupSize` },
      };
    // A class is a group too: its exact count, and the AUC (the ranks of its members' scores among the
    // other class's), describe a handful of people when it holds fewer than the group minimum (hostile
    // review: one held-out converter's count and rank).
    const positives = metrics.positives;
    if (!dp && positives !== undefined && Math.min(positives, metrics.people - positives) < least) {
      const { positives: _positives, auc: _auc, withheld, ...rest } = metrics;
      const why = `a class of the holdout has fewer than ${least} people: exact class metrics need minGroupSize`;
      return { ...rest, withheld: { ...withheld, positives: why, auc: why } };
    }
    return metrics;
  };
  /**
   * Without DP the fit is exact, and it describes a handful of people when they are set apart by the
   * design: through the intercept and a level's coefficient an exact model states that level's mean
   * label (hostile review: 0.9999999, the label of the one customer in IE, a group a query would
   * suppress), and a row no one else resembles (one person with a feature off zero, two categories
   * differing by one person) is fitted to its own label. So every level of a category, and the people
   * at none of its levels unless there are none, hold at least the group minimum of the training people
   * (named when refused); and no row's leverage x'(X'X)⁺x, the weight of its own label in its fit,
   * exceeds 1/minGroupSize, which is 1/m for a row like m others (a pass inside the room, when the
   * bound below does not settle it).
   */
  const requireNoFewPeopleDescribed = async (stats: {
    n: number;
    xtx: readonly (readonly number[])[];
  }): Promise<number[][] | undefined> => {
    const least = Math.max(...[dataset, ...joined.map((j) => j.dataset)].map((d) => d.rules.minGroupSize));
    const rule = `datasets.${dataset.name}.rules.minGroupSize`;
    // A one-hot column is 0 or 1: its diagonal of X'X counts the people at its level.
    const counts = encoded.flatMap((feature, i) =>
      feature.encoding === 'one-hot' ? [{ feature, people: stats.xtx[i]?.[i] ?? 0 }] : [],
    );
    const sparse = template.categories.flatMap((name) => {
      const levels = counts.filter(({ feature }) => feature.name === name);
      const none = stats.n - levels.reduce((sum, level) => sum + level.people, 0);
      return [
        ...levels.filter((level) => level.people < least).map(({ feature }) => `${name} = ${describe(feature)}`),
        ...(none > 0 && none < least ? [`${name} at none of its declared levels`] : []),
      ];
    });
    if (sparse.length > 0)
      refuseIf([
        diagnostic(
          'MODEL_LEVEL_TOO_FEW_PEOPLE',
          `Without DP, each level of a category needs at least ${least} training people, as a group of a query ` +
            `does (an exact coefficient of a level describes its people); fewer have ${sparse.join(', ')}. ` +
            'Train with DP, or leave the category out.',
          rule,
          { dataset: dataset.name, minGroupSize: least, levels: sparse },
        ),
      ]);
    // h = x'A⁺x ≤ ‖x‖²/λ⁺_min, and clipping bounds ‖x‖ by xNorm: when that is within 1/k no row can
    // exceed it and the pass is not needed (bench:models, 1M people: the bound is ~1e-4, under 1/50).
    // Directions of X'X too small for the inverse (a collinear design, or one person's tiny offset under
    // wide bounds: third hostile review) are left out of the fit too: the caller holds its statistics to
    // `projector`, so nothing is fitted along a direction the leverage did not see.
    const { inverse, smallestPositive, projector } = pseudoInverseSymmetric(stats.xtx);
    if (xNorm ** 2 / smallestPositive <= 1 / least) return projector;
    const [row] = await run(maxLeverageTree(from, columns, label.value, inverse));
    if (Number(row?.[0] ?? 0) > 1 / least + 1e-9)
      refuseIf([
        diagnostic(
          'MODEL_PERSON_SET_APART',
          `Without DP, no training person's row may weigh more in the fit of its own label than one of ${least} ` +
            "alike (its leverage x'(X'X)⁺x at most 1/minGroupSize), as in a group of a query: some row is set " +
            'apart by its features, and the exact fit would state its label. Train with DP, or choose features ' +
            'and bounds many people share.',
          rule,
          { dataset: dataset.name, minGroupSize: least },
        ),
      ]);
    return projector;
  };
  const release = async (fit: {
    coefficients: readonly number[];
    covariance?: readonly (readonly number[])[];
    trainingPeople: number;
    passes: number;
    mechanism?: string;
  }): Promise<TrainedModel> => {
    const beta = fit.coefficients.map((b, i) => (i === 0 ? b + labelMiddle : b));
    const metrics = await evaluate(beta);
    return {
      model: template.model,
      label: { column: template.label, bounds: labelBounds },
      features: encoded,
      coefficients: rounded(inOriginalUnits(beta, scales)),
      ...(fit.covariance && !dp
        ? { standardErrors: rounded(standardErrorsInOriginalUnits(fit.covariance, scales)) }
        : {}),
      dp:
        stated && fit.mechanism
          ? {
              ...stated,
              mechanism:
                fit.mechanism + (joined.length > 0 ? '; run at ε/2 (a joined person changes a row: two steps)' : ''),
            }
          : null,
      people: { training: Math.max(0, Math.round(fit.trainingPeople)), holdout: metrics.people, exact: !dp },
      // How many Newton steps a DP fit took depends on the data, not only on the released minimiser.
      ...(dp ? {} : { passes: fit.passes }),
      holdout: {
        share: HOLDOUT_PER_MILLE / 1000,
        split: `hash(room secret ‖ ${dataset.rules.privacyUnit}) mod 1000 < ${HOLDOUT_PER_MILLE}`,
      },
      metrics,
    };
  };

  if (template.model === 'linear') {
    const [row] = await run(sufficientStatisticsTree(from, columns, trainingLabel, true));
    await onPass?.(1, 'training');
    const stats = readSufficientStatistics(row ?? [], d);
    if (dp) {
      const yBound = Math.max(...trainedRange(trainingLabel).map(Math.abs));
      const fit = adassp(stats, { coordinates, yBound }, dp, ctx.random);
      tooFew(fit.noisyCount);
      return release({
        coefficients: fit.coefficients,
        trainingPeople: fit.noisyCount,
        passes: 1,
        mechanism: 'AdaSSP (Wang 2018), discrete Gaussian',
      });
    }
    tooFew(stats.n);
    const kept = await requireNoFewPeopleDescribed(stats);
    const held = kept
      ? { ...stats, xtx: project.matrix(kept, stats.xtx), xty: project.vector(kept, stats.xty) }
      : stats;
    const fit = fitLinear(held, { intercept: true, ...(template.ridge ? { ridge: template.ridge } : {}) });
    if (!kept) return release({ ...fit, trainingPeople: stats.n, passes: 1 });
    const { covariance: _singular, ...rest } = fit;
    return release({
      ...rest,
      coefficients: project.vector(kept, fit.coefficients),
      trainingPeople: stats.n,
      passes: 1,
    });
  }

  // The people trained on: exact without DP; with DP drawn once, at the first pass, from its own share
  // of ε, and the minimum checked on that noisy count before any further pass.
  let counted: number | undefined;
  /** an exact fit's directions, when the first pass's X'X lacks some: every pass is held to them */
  let kept: number[][] | undefined;
  const pass = async (beta: readonly number[]): Promise<LogisticPass> => {
    const [row] = await run(logisticPassTree(from, columns, label.value, true, beta));
    const read = readLogisticPass(row ?? [], d);
    if (counted === undefined) {
      counted = dp
        ? laplaceMechanism({
            value: read.n,
            l1Sensitivity: 1,
            epsilon: dp.epsilon * LOGISTIC_COUNT_SHARE,
            random: ctx.random,
            domain: 'integer',
          }).value
        : read.n;
      tooFew(counted);
      // The first pass is at β = 0, where every weight p(1 − p) is ¼: its Hessian is X'X/4, exactly.
      if (!dp) {
        if (beta.some((b) => b !== 0)) throw new Error('the first logistic pass is at β = 0');
        kept = await requireNoFewPeopleDescribed({ n: read.n, xtx: read.hessian.map((r) => r.map((v) => 4 * v)) });
      }
    }
    return kept
      ? { n: read.n, hessian: project.matrix(kept, read.hessian), gradient: project.vector(kept, read.gradient) }
      : read;
  };
  if (dp) {
    const fit = await fitLogisticPrivately(d, pass, {
      epsilon: dp.epsilon * (1 - LOGISTIC_COUNT_SHARE),
      ridge: template.ridge ?? 1,
      xNorm,
      random: ctx.random,
      onPass: (n) => onPass?.(n, 'training'),
    });
    return release({
      coefficients: fit.coefficients,
      trainingPeople: counted ?? 0,
      passes: fit.passes,
      mechanism: 'objective perturbation (Chaudhuri et al. 2011); noisy count by discrete Laplace',
    });
  }
  const fit = await fitLogistic(d, pass, {
    intercept: true,
    ridge: template.ridge ?? 1e-6,
    onPass: (n) => onPass?.(n, 'training'),
  });
  if (!fit.converged)
    throw new UnprocessableError(
      'MODEL_DID_NOT_CONVERGE',
      `The logistic fit did not converge in ${fit.passes} passes (the classes may be separable by the ` +
        'features): nothing is released; a larger ridge in the template keeps the coefficients finite.',
      { passes: fit.passes },
    );
  if (!kept) return release({ ...fit, trainingPeople: counted ?? 0 });
  const { covariance: _singular, ...rest } = fit;
  return release({ ...rest, coefficients: project.vector(kept, fit.coefficients), trainingPeople: counted ?? 0 });
}

/** A one-hot feature's level as a refusal names it. */
const describe = (feature: EncodedFeature): string =>
  feature.encoding === 'one-hot' ? JSON.stringify(feature.level) : feature.name;
