import { diagnostic } from '../errors/diagnostic.ts';
import { refuseIf } from '../errors/refused-error.ts';
import { adassp, rowNorm } from '../model/adassp.ts';
import { fitLinear } from '../model/linear-regression.ts';
import {
  fitLogistic,
  fitLogisticPrivately,
  logisticPassTree,
  readLogisticPass,
  type LogisticPass,
} from '../model/logistic-regression.ts';
import type { ModelTemplateDocument } from '../model/model-template.ts';
import {
  readSufficientStatistics,
  sufficientStatisticsTree,
  type BoundedColumn,
} from '../model/sufficient-statistics.ts';
import type { Collaboration, Dataset } from '../policy/collaboration.ts';
import {
  caseWhen,
  castTo,
  columnRef,
  compare,
  double,
  functionCall,
  integer,
  stringConstant,
  tableRef,
  type SqlNode,
} from '../query/sql-tree.ts';
import { requireOneRowPerPerson } from './one-row-per-person.ts';
import type { ReleaseContext } from './release-context.ts';

/** One column of the design matrix as the card states it: how it is computed from the data. */
export type EncodedFeature =
  | { readonly name: string; readonly encoding: 'intercept' }
  | { readonly name: string; readonly encoding: 'numeric'; readonly bounds: readonly [number, number] }
  | { readonly name: string; readonly encoding: 'one-hot'; readonly level: string };

/** What leaves: coefficients and how to use them, never a row or a per-record score. */
export interface TrainedModel {
  readonly model: 'linear' | 'logistic';
  readonly label: { readonly column: string; readonly bounds: readonly [number, number] };
  readonly features: readonly EncodedFeature[];
  readonly coefficients: readonly number[];
  readonly dp: { readonly epsilon: number; readonly delta: number; readonly mechanism: string } | null;
  /** the people trained on: exact without DP, omitted with it (a count is not released for free) */
  readonly people?: number;
  readonly passes: number;
  /** in-sample fit without DP (R² for linear, mean log-loss for logistic); DP metrics are not built yet */
  readonly fit?: { readonly r2?: number; readonly meanLogLoss?: number };
}

/** Released coefficients keep 10 significant digits: the low bits of a continuous mechanism's output stay inside. */
const rounded = (values: readonly number[]) => values.map((v) => Number(v.toPrecision(10)));

/** β on features rescaled to (x − low)/width, as β on x itself: divide by the width, move the intercept. */
function inOriginalUnits(beta: readonly number[], scales: readonly { index: number; low: number; width: number }[]) {
  const out = [...beta];
  for (const { index, low, width } of scales) {
    out[index] = (beta[index] ?? 0) / width;
    out[0] = (out[0] ?? 0) - ((beta[index] ?? 0) * low) / width;
  }
  return out;
}

/**
 * Trains a model template's model on its dataset: one row per person or refuse; the design matrix
 * from the policy (numeric features clipped to their bounds, categories one-hot on the policy's
 * levels, an intercept); at least `minPeople` complete rows or refuse; then OLS or AdaSSP (linear,
 * one pass) or IRLS or objective perturbation (logistic, one pass per Newton step). The caller
 * charges the DP budget before and audits after.
 */
export async function trainModel(
  ctx: ReleaseContext,
  collaboration: Collaboration,
  dataset: Dataset,
  template: ModelTemplateDocument,
  onPass?: (pass: number) => void,
): Promise<TrainedModel> {
  const rules = dataset.rules.model;
  if (!rules) throw new Error('trainModel needs a dataset with model rules (the template check ensures it)');
  await requireOneRowPerPerson(ctx, collaboration, dataset, 'MODEL_NOT_ONE_ROW_PER_PERSON');
  const from: SqlNode = { ...tableRef(dataset.name, '__cr_x'), schema_name: collaboration.id };
  const ref = (column: string) => columnRef(['__cr_x', column]);
  const columns: BoundedColumn[] = [];
  const encoded: EncodedFeature[] = [{ name: '(intercept)', encoding: 'intercept' }];
  // Numeric features are trained rescaled from their declared bounds to [0, 1] (public, so it costs no
  // privacy): every column then weighs alike in ‖x‖, which the DP mechanisms' noise and ridge scale with.
  // The coefficients are mapped back to the original units below.
  const scales: { index: number; low: number; width: number }[] = [];
  for (const name of template.features) {
    const bounds = rules.features[name] as readonly [number, number];
    const [low, high] = bounds;
    const rescaled = functionCall('/', [
      functionCall('-', [castTo(ref(name), 'DOUBLE'), double(low)]),
      double(high - low),
    ]);
    scales.push({ index: columns.length + 1, low, width: high - low });
    columns.push({ value: rescaled, bounds: [0, 1] });
    encoded.push({ name, encoding: 'numeric', bounds });
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
  const label: BoundedColumn = { value: ref(template.label), bounds: labelBounds };
  const d = columns.length + 1;
  const xNorm = rowNorm(
    columns.map((c) => c.bounds),
    true,
  );
  const run = async (tree: SqlNode) => (await ctx.engine.query(await ctx.parser.render(tree), {})).rows;
  const tooFew = (people: number) => {
    if (people < rules.minPeople)
      refuseIf([
        diagnostic(
          'MODEL_TOO_FEW_PEOPLE',
          `"${dataset.name}" has fewer than ${rules.minPeople} people with every feature and the label: a model ` +
            'needs at least that many.',
          `datasets.${dataset.name}.rules.model.minPeople`,
          { dataset: dataset.name, minPeople: rules.minPeople },
        ),
      ]);
  };
  const base = {
    model: template.model,
    label: { column: template.label, bounds: labelBounds },
    features: encoded,
  } as const;

  if (template.model === 'linear') {
    const [row] = await run(sufficientStatisticsTree(from, columns, label, true));
    onPass?.(1);
    const stats = readSufficientStatistics(row ?? [], d);
    tooFew(stats.n);
    if (template.dp) {
      const delta = template.dp.delta ?? 0;
      const yBound = Math.max(Math.abs(labelBounds[0]), Math.abs(labelBounds[1]));
      const fit = adassp(stats, { xNorm, yBound }, { epsilon: template.dp.epsilon, delta }, ctx.random);
      return {
        ...base,
        coefficients: rounded(inOriginalUnits(fit.coefficients, scales)),
        dp: { epsilon: template.dp.epsilon, delta, mechanism: 'AdaSSP (Wang 2018), discrete Gaussian' },
        passes: 1,
      };
    }
    const fit = fitLinear(stats, { intercept: true, ...(template.ridge ? { ridge: template.ridge } : {}) });
    return {
      ...base,
      coefficients: rounded(inOriginalUnits(fit.coefficients, scales)),
      dp: null,
      people: stats.n,
      passes: 1,
      fit: { r2: fit.r2 },
    };
  }

  let counted = false;
  const pass = async (beta: readonly number[]): Promise<LogisticPass> => {
    const [row] = await run(logisticPassTree(from, columns, label.value, true, beta));
    const result = readLogisticPass(row ?? [], d);
    if (!counted) {
      tooFew(result.n);
      counted = true;
    }
    return result;
  };
  if (template.dp) {
    const fit = await fitLogisticPrivately(d, pass, {
      epsilon: template.dp.epsilon,
      ridge: template.ridge ?? 1,
      xNorm,
      random: ctx.random,
      onPass: (n) => onPass?.(n),
    });
    return {
      ...base,
      coefficients: rounded(inOriginalUnits(fit.coefficients, scales)),
      dp: { epsilon: template.dp.epsilon, delta: 0, mechanism: 'objective perturbation (Chaudhuri et al. 2011)' },
      passes: fit.passes,
    };
  }
  const fit = await fitLogistic(d, pass, {
    intercept: true,
    ridge: template.ridge ?? 1e-6,
    onPass: (n) => onPass?.(n),
  });
  return {
    ...base,
    coefficients: rounded(inOriginalUnits(fit.coefficients, scales)),
    dp: null,
    passes: fit.passes,
    fit: { meanLogLoss: fit.meanLogLoss },
  };
}
