import { contentHash } from '../crypto/hashing.ts';
import { diagnostic, type Diagnostic } from '../errors/diagnostic.ts';
import { documentRefused, refuseIf } from '../errors/refused-error.ts';
import type { Collaboration, Dataset } from '../policy/collaboration.ts';
import { collaborationMismatch, compileValidator } from '../validation/json-validator.ts';

/**
 * A model template: which model of which label on which features of one dataset (one row per
 * person), with which privacy, for which member. Officers of the dataset's owner sign its hash.
 */
export interface ModelTemplateDocument {
  readonly kind: 'model';
  readonly name: string;
  readonly collaboration: string;
  readonly description: string;
  readonly dataset: string;
  readonly model: 'linear' | 'logistic';
  readonly label: string;
  /** numeric features, clipped to the policy's bounds */
  readonly features: readonly string[];
  /** dimensions one-hot encoded with the policy's levels */
  readonly categories: readonly string[];
  /**
   * The feature view's joins: per-person aggregates of other datasets (their owners' `perPerson`
   * rules), joined on the two privacy units, each a numeric feature named as the rule names it.
   */
  readonly joined?: readonly { readonly dataset: string; readonly features: readonly string[] }[];
  /** differential privacy: ε (and δ, which AdaSSP needs); absent only where the rules do not require DP */
  readonly dp?: { readonly epsilon: number; readonly delta?: number };
  /** ridge penalty (Λ), at least what the mechanism needs */
  readonly ridge?: number;
  readonly recipient: string;
}

const slug = { type: 'string', pattern: '^[a-z][a-z0-9_]{0,62}$' };

export const validateModelTemplate = compileValidator<ModelTemplateDocument>({
  type: 'object',
  additionalProperties: false,
  required: ['kind', 'name', 'collaboration', 'description', 'dataset', 'model', 'label', 'features', 'recipient'],
  properties: {
    kind: { const: 'model' },
    name: slug,
    collaboration: { type: 'string', pattern: '^[a-z][a-z0-9-]{0,62}$' },
    description: { type: 'string', maxLength: 2000 },
    dataset: slug,
    model: { enum: ['linear', 'logistic'] },
    label: slug,
    features: { type: 'array', uniqueItems: true, maxItems: 50, items: slug },
    categories: { type: 'array', uniqueItems: true, maxItems: 20, items: slug, default: [] },
    joined: {
      type: 'array',
      maxItems: 3,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['dataset', 'features'],
        properties: {
          dataset: slug,
          features: { type: 'array', minItems: 1, uniqueItems: true, maxItems: 20, items: slug },
        },
      },
    },
    dp: {
      type: 'object',
      additionalProperties: false,
      required: ['epsilon'],
      properties: {
        // At least 0.01: below it the noise swamps any model, and each mechanism's share of it (5% for
        // a logistic model's count, halved again with a join) must stay a usable ε.
        epsilon: { type: 'number', minimum: 0.01, maximum: 10 },
        delta: { type: 'number', exclusiveMinimum: 0, maximum: 0.001 },
      },
    },
    ridge: { type: 'number', minimum: 0, maximum: 1e9 },
    recipient: { type: 'string', pattern: '^[a-z][a-z0-9-]{0,62}$' },
  },
});

export const modelTemplateHash = (doc: ModelTemplateDocument): string => contentHash(doc);

/** Every dataset a model template reads: its own, then each joined one. Each owner's officer approves it. */
export const modelDatasets = (doc: ModelTemplateDocument): string[] => [
  doc.dataset,
  ...(doc.joined ?? []).map((j) => j.dataset),
];

/** Both datasets allow joining each other on their privacy units (`rules.joins`, as queries need). */
function joinsOnUnits(a: Dataset, b: Dataset): boolean {
  const declares = (from: Dataset, to: Dataset) =>
    (from.rules.joins ?? []).some(
      (j) => j.dataset === to.name && j.column === from.rules.privacyUnit && j.partnerColumn === to.rules.privacyUnit,
    );
  return declares(a, b) && declares(b, a);
}

/**
 * The joined datasets' problems: each exists once, is not the model's own, lends the named per-person
 * features (`rules.model.perPerson`), joins on both privacy units as both owners allow, and no feature
 * name is used twice. Recipients and DP rules, checked for every dataset read, are the caller's.
 */
function joinedProblems(doc: ModelTemplateDocument, collaboration: Collaboration, base: Dataset): Diagnostic[] {
  const problems: Diagnostic[] = [];
  const names = new Set<string>([base.rules.privacyUnit, doc.label, ...doc.features, ...(doc.categories ?? [])]);
  const seen = new Set<string>([doc.dataset]);
  for (const join of doc.joined ?? []) {
    const dataset = collaboration.datasets.get(join.dataset);
    const rule = `datasets.${join.dataset}.rules.model`;
    const rules = dataset?.rules.model;
    if (!dataset || !rules || seen.has(join.dataset)) {
      problems.push(
        diagnostic(
          'MODEL_NOT_ALLOWED',
          !dataset
            ? `There is no dataset "${join.dataset}" in collaboration "${collaboration.id}".`
            : seen.has(join.dataset)
              ? `"${join.dataset}" is joined twice (or is the model's own dataset).`
              : `Dataset "${join.dataset}" has no model rules: its owner lends no features to models.`,
          rule,
          { dataset: join.dataset },
        ),
      );
      continue;
    }
    seen.add(join.dataset);
    for (const feature of join.features) {
      if (!rules.perPerson?.[feature])
        problems.push(
          diagnostic(
            'MODEL_NOT_ALLOWED',
            `"${feature}" is not among the per-person features the model rules of "${join.dataset}" lend.`,
            `${rule}.perPerson`,
            { dataset: join.dataset, column: feature },
          ),
        );
      else if (names.has(feature))
        problems.push(
          diagnostic(
            'MODEL_NOT_ALLOWED',
            `"${feature}" names two columns of the model; a joined feature needs a name of its own.`,
            `${rule}.perPerson.${feature}`,
            { dataset: join.dataset, column: feature },
          ),
        );
      names.add(feature);
    }
    if (!joinsOnUnits(base, dataset))
      problems.push(
        diagnostic(
          'MODEL_NOT_ALLOWED',
          `"${doc.dataset}" and "${join.dataset}" do not both allow a join on their privacy units ` +
            `(${base.rules.privacyUnit} = ${dataset.rules.privacyUnit}): a feature view joins each person to ` +
            'themselves only.',
          `datasets.${join.dataset}.rules.joins`,
          { dataset: join.dataset },
        ),
      );
  }
  return problems;
}

/**
 * Checks a model template against the owner's `rules.model`: every feature, category and the label
 * allowed there (a logistic label bounded [0, 1]), the recipient named, DP present where required,
 * within `maxEpsilonPerModel`, paid from a dataset that has a DP budget, and δ for AdaSSP. Each
 * refusal names its rule.
 */
export function modelTemplateProblems(doc: ModelTemplateDocument, collaboration: Collaboration): Diagnostic[] {
  const dataset = collaboration.datasets.get(doc.dataset);
  const rules = dataset?.rules.model;
  const rule = `datasets.${doc.dataset}.rules.model`;
  if (!dataset || !rules)
    return [
      diagnostic(
        'MODEL_NOT_ALLOWED',
        dataset
          ? `Dataset "${doc.dataset}" has no model rules: its owner allows no model to be trained on it.`
          : `There is no dataset "${doc.dataset}" in collaboration "${collaboration.id}".`,
        rule,
        { dataset: doc.dataset },
      ),
    ];
  const problems: Diagnostic[] = [];
  const notAllowed = (column: string, what: string, where: string) =>
    problems.push(
      diagnostic(
        'MODEL_NOT_ALLOWED',
        `"${column}" is not among the ${what} the model rules of "${doc.dataset}" allow.`,
        `${rule}.${where}`,
        { dataset: doc.dataset, column },
      ),
    );
  for (const f of doc.features) if (!(f in rules.features)) notAllowed(f, 'features', 'features');
  for (const c of doc.categories ?? []) if (!(c in (rules.categories ?? {}))) notAllowed(c, 'categories', 'categories');
  const label = rules.labels[doc.label];
  if (!label) notAllowed(doc.label, 'labels', 'labels');
  else if (doc.model === 'logistic' && (label[0] !== 0 || label[1] !== 1))
    problems.push(
      diagnostic(
        'MODEL_NOT_ALLOWED',
        `A logistic model needs a 0/1 label; "${doc.label}" is bounded [${label[0]}, ${label[1]}].`,
        `${rule}.labels.${doc.label}`,
        { dataset: doc.dataset, column: doc.label },
      ),
    );
  if ([...doc.features, ...(doc.categories ?? [])].includes(doc.label)) notAllowed(doc.label, 'features', 'labels');
  problems.push(...joinedProblems(doc, collaboration, dataset));
  // Every dataset read has its say: DP if any requires it, ε within the smallest allowance, a budget in each.
  const read = modelDatasets(doc).flatMap((name) => {
    const d = collaboration.datasets.get(name);
    return d?.rules.model ? [{ dataset: d, rules: d.rules.model }] : [];
  });
  for (const { dataset: d, rules: r } of read) {
    const maxEpsilon = r.maxEpsilonPerModel ?? 1;
    const at = `datasets.${d.name}.rules.model`;
    if (!r.recipients.includes(doc.recipient))
      problems.push(
        diagnostic(
          'MODEL_NOT_A_RECIPIENT',
          `Member "${doc.recipient}" is not a recipient the model rules of "${d.name}" name.`,
          `${at}.recipients`,
          { dataset: d.name, recipient: doc.recipient },
        ),
      );
    if (!doc.dp && r.dpRequired !== false)
      problems.push(
        diagnostic(
          'MODEL_DP_REQUIRED',
          `Models of "${d.name}" must be trained with differential privacy: state dp.epsilon (at most ${maxEpsilon}).`,
          `${at}.dpRequired`,
          { dataset: d.name, maxEpsilon },
        ),
      );
    if (doc.dp && doc.dp.epsilon > maxEpsilon)
      problems.push(
        diagnostic(
          'MODEL_DP_REQUIRED',
          `ε ${doc.dp.epsilon} is more than the ${maxEpsilon} a model of "${d.name}" may spend.`,
          `${at}.maxEpsilonPerModel`,
          { dataset: d.name, maxEpsilon },
        ),
      );
    if (doc.dp && !d.rules.dp)
      problems.push(
        diagnostic(
          'MODEL_DP_REQUIRED',
          `"${d.name}" has no DP budget (rules.dp) to pay a DP model from.`,
          `datasets.${d.name}.rules.dp`,
          { dataset: d.name },
        ),
      );
  }
  const owners = new Set(read.map(({ dataset: d }) => d.owner));
  if (!doc.dp && owners.size > 1)
    problems.push(
      diagnostic(
        'MODEL_DP_REQUIRED',
        `The feature view joins the data of ${[...owners].join(' and ')}: a model of two members' data is trained ` +
          'with differential privacy (an exact one could be differenced through one member’s uploads).',
        `datasets.${doc.joined?.[0]?.dataset ?? doc.dataset}.rules.model.dpRequired`,
        { dataset: doc.dataset },
      ),
    );
  const maxEpsilon = rules.maxEpsilonPerModel ?? 1;
  if (doc.dp && doc.model === 'linear' && doc.dp.delta === undefined)
    problems.push(
      diagnostic(
        'MODEL_DP_REQUIRED',
        'A DP linear model (AdaSSP, Gaussian noise) needs dp.delta as well as dp.epsilon.',
        `${rule}.dpRequired`,
        { dataset: doc.dataset, maxEpsilon },
      ),
    );
  return problems;
}

/** Validates a proposed document (schema, its collaboration, the policy); answers it with its defaults. */
export function checkedModelTemplate(value: unknown, collaboration: Collaboration): ModelTemplateDocument {
  const checked = validateModelTemplate(value);
  if (!checked.ok)
    throw documentRefused('MODEL_TEMPLATE_INVALID', 'The model template is invalid:', checked.diagnostics);
  const doc = { ...checked.value, categories: checked.value.categories ?? [] };
  const elsewhere = collaborationMismatch(doc.collaboration, collaboration.id);
  if (elsewhere.length > 0)
    throw documentRefused('MODEL_TEMPLATE_INVALID', 'The model template is invalid:', elsewhere);
  refuseIf(modelTemplateProblems(doc, collaboration));
  return doc;
}
