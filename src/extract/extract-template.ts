import { contentHash } from '../crypto/hashing.ts';
import { diagnostic, type Diagnostic } from '../errors/diagnostic.ts';
import { documentRefused, refuseIf } from '../errors/refused-error.ts';
import type { Collaboration } from '../policy/collaboration.ts';
import { compileValidator, invalidValue } from '../validation/json-validator.ts';

/**
 * An extract template: which quasi-identifiers (generalised) and attributes (as stored) of which
 * dataset leave, to which member, in which format. Officers of the dataset's owner sign its content
 * hash, as they sign query templates; the generalisation levels are the search's, never the template's.
 */
export interface ExtractTemplateDocument {
  readonly kind: 'extract';
  readonly name: string;
  readonly collaboration: string;
  readonly description: string;
  readonly dataset: string;
  readonly quasiIdentifiers: readonly string[];
  readonly attributes: readonly string[];
  readonly recipient: string;
  readonly format: 'csv' | 'parquet';
  /** a second dataset joined one-to-one on an identifier pair both owners allow; its attributes leave as stored */
  readonly join?: { readonly dataset: string; readonly attributes: readonly string[] };
}

/** The identifier pair a join uses: `dataset.column = partner.partnerColumn`, allowed by both owners' rules. */
export interface ExtractJoin {
  readonly dataset: string;
  readonly column: string;
  readonly partner: string;
  readonly partnerColumn: string;
}

/** The first identifier pair both datasets' `rules.joins` allow between them, if any. */
export function allowedJoin(collaboration: Collaboration, dataset: string, partner: string): ExtractJoin | undefined {
  const back = collaboration.datasets.get(partner)?.rules.joins ?? [];
  const pair = (collaboration.datasets.get(dataset)?.rules.joins ?? []).find(
    (j) =>
      j.dataset === partner &&
      back.some((b) => b.dataset === dataset && b.column === j.partnerColumn && b.partnerColumn === j.column),
  );
  return pair && { dataset, column: pair.column, partner, partnerColumn: pair.partnerColumn };
}

const slug = { type: 'string', pattern: '^[a-z][a-z0-9_]{0,62}$' };
const columnList = { type: 'array', uniqueItems: true, maxItems: 64, items: slug };

export const validateExtractTemplate = compileValidator<ExtractTemplateDocument>({
  type: 'object',
  additionalProperties: false,
  required: ['kind', 'name', 'collaboration', 'description', 'dataset', 'quasiIdentifiers', 'attributes', 'recipient'],
  properties: {
    kind: { const: 'extract' },
    name: slug,
    collaboration: { type: 'string', pattern: '^[a-z][a-z0-9-]{0,62}$' },
    description: { type: 'string', maxLength: 2000 },
    dataset: slug,
    quasiIdentifiers: { ...columnList, minItems: 1 },
    attributes: columnList,
    recipient: { type: 'string', pattern: '^[a-z][a-z0-9-]{0,62}$' },
    format: { enum: ['csv', 'parquet'], default: 'csv' },
    join: {
      type: 'object',
      additionalProperties: false,
      required: ['dataset', 'attributes'],
      properties: { dataset: slug, attributes: { ...columnList, minItems: 1 } },
    },
  },
});

/** The content hash officers sign: any change to what leaves, or to whom, needs new signatures. */
export const extractTemplateHash = (doc: ExtractTemplateDocument): string => contentHash(doc);

/**
 * Checks a template against its collaboration's policy: the dataset has extract rules; every
 * quasi-identifier has a hierarchy there; every attribute is one the rules release as stored; the
 * recipient is one the rules name. Each refusal names the rule. Identifier and blocked columns can
 * be neither (the policy's own cross-checks keep them out of the rules).
 */
export function extractTemplateProblems(doc: ExtractTemplateDocument, collaboration: Collaboration): Diagnostic[] {
  const dataset = collaboration.datasets.get(doc.dataset);
  const rules = dataset?.rules.extract;
  if (!dataset || !rules)
    return [
      diagnostic(
        'EXTRACT_NOT_ALLOWED',
        dataset
          ? `Dataset "${doc.dataset}" has no extract rules: its owner allows no row-level extract of it.`
          : `There is no dataset "${doc.dataset}" in collaboration "${collaboration.id}".`,
        `datasets.${doc.dataset}.rules.extract`,
        { dataset: doc.dataset },
      ),
    ];
  const problems: Diagnostic[] = [];
  const rule = `datasets.${doc.dataset}.rules.extract`;
  for (const column of doc.quasiIdentifiers)
    if (!(column in rules.quasiIdentifiers))
      problems.push(
        diagnostic(
          'EXTRACT_NOT_ALLOWED',
          `"${column}" has no generalisation hierarchy in the extract rules of "${doc.dataset}": it cannot leave ` +
            'as a quasi-identifier.',
          `${rule}.quasiIdentifiers`,
          { dataset: doc.dataset, column },
        ),
      );
  const released = new Set(rules.attributes ?? []);
  for (const column of doc.attributes)
    if (!released.has(column))
      problems.push(
        diagnostic(
          'EXTRACT_NOT_ALLOWED',
          `"${column}" is not among the attributes the extract rules of "${doc.dataset}" release as stored.`,
          `${rule}.attributes`,
          { dataset: doc.dataset, column },
        ),
      );
  if (!rules.recipients.includes(doc.recipient))
    problems.push(
      diagnostic(
        'EXTRACT_NOT_A_RECIPIENT',
        `Member "${doc.recipient}" is not a recipient the extract rules of "${doc.dataset}" name.`,
        `${rule}.recipients`,
        { dataset: doc.dataset, recipient: doc.recipient },
      ),
    );
  if (doc.join) problems.push(...joinProblems(doc, doc.join, collaboration));
  return problems;
}

/**
 * A joined dataset: its owner allows extracts of it too (its attributes among its rules' attributes,
 * the recipient among its recipients), both owners allow the identifier pair, and its rules ask for no
 * l or t of their own (one sensitive attribute per extract: the first dataset's).
 */
function joinProblems(
  doc: ExtractTemplateDocument,
  join: NonNullable<ExtractTemplateDocument['join']>,
  collaboration: Collaboration,
): Diagnostic[] {
  const partner = collaboration.datasets.get(join.dataset);
  const rules = partner?.rules.extract;
  const rule = `datasets.${join.dataset}.rules.extract`;
  if (!partner || !rules || join.dataset === doc.dataset)
    return [
      diagnostic(
        'EXTRACT_NOT_ALLOWED',
        !partner
          ? `There is no dataset "${join.dataset}" in collaboration "${collaboration.id}".`
          : join.dataset === doc.dataset
            ? `An extract cannot join "${doc.dataset}" with itself.`
            : `Dataset "${join.dataset}" has no extract rules: its owner allows none of its columns in an extract.`,
        rule,
        { dataset: join.dataset },
      ),
    ];
  const problems: Diagnostic[] = [];
  if (!allowedJoin(collaboration, doc.dataset, join.dataset))
    problems.push(
      diagnostic(
        'EXTRACT_NOT_ALLOWED',
        `"${doc.dataset}" and "${join.dataset}" have no identifier pair both owners allow in rules.joins.`,
        `datasets.${doc.dataset}.rules.joins`,
        { dataset: join.dataset },
      ),
    );
  const released = new Set(rules.attributes ?? []);
  for (const column of join.attributes)
    if (!released.has(column) || doc.attributes.includes(column) || doc.quasiIdentifiers.includes(column))
      problems.push(
        diagnostic(
          'EXTRACT_NOT_ALLOWED',
          released.has(column)
            ? `"${column}" is named twice: columns of an extract need distinct names.`
            : `"${column}" is not among the attributes the extract rules of "${join.dataset}" release as stored.`,
          `${rule}.attributes`,
          { dataset: join.dataset, column },
        ),
      );
  if (!rules.recipients.includes(doc.recipient))
    problems.push(
      diagnostic(
        'EXTRACT_NOT_A_RECIPIENT',
        `Member "${doc.recipient}" is not a recipient the extract rules of "${join.dataset}" name.`,
        `${rule}.recipients`,
        { dataset: join.dataset, recipient: doc.recipient },
      ),
    );
  if (rules.l || rules.t)
    problems.push(
      diagnostic(
        'EXTRACT_NOT_ALLOWED',
        `"${join.dataset}" asks for l or t of its own: a joined extract checks one sensitive attribute, the first ` +
          "dataset's.",
        `${rule}.${rules.l ? 'l' : 't'}`,
        { dataset: join.dataset },
      ),
    );
  return problems;
}

/** Validates a proposed document (schema, its collaboration, the policy); answers it with its defaults. */
export function checkedExtractTemplate(value: unknown, collaboration: Collaboration): ExtractTemplateDocument {
  const checked = validateExtractTemplate(value);
  if (!checked.ok)
    throw documentRefused('EXTRACT_TEMPLATE_INVALID', 'The extract template is invalid:', checked.diagnostics);
  const doc = { ...checked.value, format: checked.value.format ?? 'csv' };
  if (doc.collaboration !== collaboration.id)
    throw documentRefused('EXTRACT_TEMPLATE_INVALID', 'The extract template is invalid:', [
      invalidValue(
        '/collaboration',
        `names collaboration "${doc.collaboration}", not "${collaboration.id}"`,
        'a template belongs to its collaboration',
      ),
    ]);
  refuseIf(extractTemplateProblems(doc, collaboration));
  return doc;
}
