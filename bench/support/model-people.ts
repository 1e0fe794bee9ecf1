import type { ColumnType, DatasetDocument } from '../../src/policy/policy-document.ts';

/**
 * The synthetic people the models bench trains on: one row per person, 8 numeric features with
 * declared clipping bounds, a linear label and a 0/1 label from a known β. Rows come from a
 * deterministic hash-based generator in DuckDB SQL, so a table of n people is the first n of any
 * larger one and every run sees the same data.
 */
export interface Feature {
  readonly name: string;
  /** what the column stands for, for the design line */
  readonly like: string;
  readonly bounds: readonly [number, number];
  /** effect of one standard deviation of the feature on y (linear) and on the log-odds (logistic) */
  readonly effect: number;
}

export const FEATURES: readonly Feature[] = [
  { name: 'x1', like: 'age', bounds: [18, 90], effect: 0.8 },
  { name: 'x2', like: 'income k', bounds: [0, 250], effect: -0.5 },
  { name: 'x3', like: 'tenure months', bounds: [0, 120], effect: 0.3 },
  { name: 'x4', like: 'visits', bounds: [0, 60], effect: 0.6 },
  { name: 'x5', like: 'basket', bounds: [0, 500], effect: -0.4 },
  { name: 'x6', like: 'distance km', bounds: [0, 100], effect: 0.2 },
  { name: 'x7', like: 'credit score', bounds: [300, 850], effect: 0.7 },
  { name: 'x8', like: 'rating', bounds: [0, 10], effect: -0.3 },
];

/** Every pair of features shares this correlation (one common factor). */
export const CORRELATION = 0.3;
/** A feature's standard deviation as a share of its declared width: the bounds sit 3 sd either side of the mean. */
const SD_SHARE = 1 / 6;
export const LINEAR_LABEL = { name: 'y_linear', bounds: [0, 20] as const, atMeans: 10, noiseSd: 1 };
export const LOGISTIC_LABEL = { name: 'y_logistic', bounds: [0, 1] as const, atMeans: -1 };

/**
 * How the features fill their declared bounds: 'normal' (the default) puts the bounds 3 sd either side of
 * the mean, as an officer declares bounds wide enough for anyone; 'uniform' spreads them evenly over the
 * bounds (sd = width/√12, 1.7x the normal's), as data normalised to its own range, the setting of published
 * DP regression figures. The same effects per sd and the same correlation.
 */
export type Spread = 'normal' | 'uniform';

const mean = (f: Feature) => (f.bounds[0] + f.bounds[1]) / 2;
const sd = (f: Feature, spread: Spread) =>
  (f.bounds[1] - f.bounds[0]) * (spread === 'normal' ? SD_SHARE : 1 / Math.sqrt(12));

/** The true β in the features' own units, intercept first: y (or the log-odds) = β0 + Σ βj·xj. */
export function trueBeta(label: 'linear' | 'logistic', spread: Spread = 'normal'): number[] {
  const atMeans = label === 'linear' ? LINEAR_LABEL.atMeans : LOGISTIC_LABEL.atMeans;
  const slopes = FEATURES.map((f) => f.effect / sd(f, spread));
  return [atMeans - FEATURES.reduce((s, f, j) => s + (slopes[j] as number) * mean(f), 0), ...slopes];
}

export const describeDesign = (spread: Spread = 'normal'): string =>
  (spread === 'normal'
    ? '8 features, each normal with mean at the middle of its declared bounds and sd = width/6, clipped to the bounds '
    : '8 features, each uniform over its declared bounds (a common uniform shared with probability √0.3, ' +
      'otherwise its own) ') +
  `(${FEATURES.map((f) => `${f.name} ${f.like} [${f.bounds.join(', ')}]`).join('; ')}); ` +
  `pairwise correlation ${CORRELATION} (one common factor); ` +
  `${LINEAR_LABEL.name} = x·β + N(0, ${LINEAR_LABEL.noiseSd}) clipped to [${LINEAR_LABEL.bounds.join(', ')}] ` +
  `(${LINEAR_LABEL.atMeans} at the means, R² ~0.67); ` +
  `${LOGISTIC_LABEL.name} ~ Bernoulli(sigmoid(x·β)) (log-odds ${LOGISTIC_LABEL.atMeans} at the means); ` +
  `per-sd effects ${FEATURES.map((f) => f.effect).join(', ')}`;

// A uniform in (0, 1) from the top 53 bits of DuckDB's hash of one integer per (person, stream); Box-Muller for
// normals. Not hash(person_id, stream): DuckDB combines the hashes of its arguments by multiply-and-XOR, so every
// stream of a person would be the same bits XOR a constant, and the "independent" draws strongly dependent.
const STREAMS = 32;
const uniform = (stream: number) => `((hash(i * ${STREAMS} + ${stream}) >> 11)::DOUBLE + 0.5) / 9007199254740992.0`;
const normal = (stream: number) => `sqrt(-2 * ln(${uniform(stream)})) * cos(2 * pi() * ${uniform(stream + 1)})`;
const linearSql = (beta: readonly number[]) =>
  [String(beta[0]), ...FEATURES.map((f, j) => `${beta[j + 1]} * ${f.name}`)].join(' + ');

/** The SELECT that generates the first `n` people (no user input: numbers and names from this file only). */
export function generatorSql(n: number, spread: Spread = 'normal'): string {
  const latent = FEATURES.map((f, j) =>
    spread === 'normal'
      ? `least(${f.bounds[1]}, greatest(${f.bounds[0]}, ${mean(f)} + ${sd(f, spread)} * ` +
        `(${Math.sqrt(CORRELATION)} * common + ${Math.sqrt(1 - CORRELATION)} * ${normal(10 + 2 * j)}))) AS ${f.name}`
      : // Two features share the common uniform with probability √ρ·√ρ = ρ: correlation ρ, margins exactly uniform.
        `${f.bounds[0]} + ${f.bounds[1] - f.bounds[0]} * ` +
        `CASE WHEN ${uniform(10 + 2 * j)} < ${Math.sqrt(CORRELATION)} ` +
        `THEN ${uniform(6)} ELSE ${uniform(11 + 2 * j)} END AS ${f.name}`,
  );
  const [low, high] = LINEAR_LABEL.bounds;
  return (
    `SELECT person_id, ${FEATURES.map((f) => f.name).join(', ')}, ` +
    `least(${high}, greatest(${low}, ${linearSql(trueBeta('linear', spread))} + ${LINEAR_LABEL.noiseSd} * noise)) ` +
    `AS ${LINEAR_LABEL.name}, ` +
    `CAST(coin < 1 / (1 + exp(-(${linearSql(trueBeta('logistic', spread))}))) AS INTEGER) AS ${LOGISTIC_LABEL.name} ` +
    `FROM (SELECT person_id, ${latent.join(', ')}, noise, coin FROM ` +
    `(SELECT i, sha256(CAST(i AS VARCHAR)) AS person_id, ${normal(1)} AS common, ${normal(3)} AS noise, ` +
    `${uniform(5)} AS coin FROM (SELECT range AS i FROM range(${n}))))`
  );
}

export const COLUMNS: readonly { readonly name: string; readonly type: ColumnType }[] = [
  // Like the demo's email_hash: people are keyed by a 64-character hex digest.
  { name: 'person_id', type: 'VARCHAR' },
  ...FEATURES.map((f) => ({ name: f.name, type: 'DOUBLE' as const })),
  { name: LINEAR_LABEL.name, type: 'DOUBLE' },
  { name: LOGISTIC_LABEL.name, type: 'INTEGER' },
];

/**
 * The dataset as its owner (acme) declares it: one row per person_id, model rules with the features'
 * bounds, both labels, non-DP models allowed (to compare against), ε up to 10 per model, models to
 * northwind, and a DP budget (rules.dp) that DP models are paid from.
 */
export function modelDataset(name: string): DatasetDocument {
  return {
    name,
    owner: 'acme',
    description: 'Synthetic people for bench:models (one row per person).',
    region: 'eu-west',
    retentionDays: 30,
    format: 'csv',
    columns: COLUMNS.map((c) => ({ ...c, class: c.name === 'person_id' ? 'identifier' : 'metric' }) as const),
    rules: {
      privacyUnit: 'person_id',
      minGroupSize: 50,
      aggregates: ['count', 'sum', 'avg'],
      resultReceivers: ['acme', 'northwind'],
      dp: { maxGroupsPerUnit: 1, maxRowsPerUnit: 1, budget: { epsilon: 1000, delta: 1e-3, period: 'total' } },
      model: {
        features: Object.fromEntries(FEATURES.map((f) => [f.name, f.bounds])),
        labels: { [LINEAR_LABEL.name]: LINEAR_LABEL.bounds, [LOGISTIC_LABEL.name]: LOGISTIC_LABEL.bounds },
        minPeople: 1000,
        dpRequired: false,
        maxEpsilonPerModel: 10,
        recipients: ['northwind'],
      },
    },
  };
}
