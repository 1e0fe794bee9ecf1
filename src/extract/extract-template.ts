import { contentHash } from '../crypto/hashing.ts';
import { diagnostic, type Diagnostic } from '../errors/diagnostic.ts';
import { documentRefused, refuseIf } from '../errors/refused-error.ts';
import type { Collaboration } from '../policy/collaboration.ts';
import { collaborationMismatch, compileValidator } from '../validation/json-validator.ts';

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
  return problems;
}

/** Validates a proposed document (schema, its collaboration, the policy); answers it with its defaults. */
export function checkedExtractTemplate(value: unknown, collaboration: Collaboration): ExtractTemplateDocument {
  const checked = validateExtractTemplate(value);
  if (!checked.ok)
    throw documentRefused('EXTRACT_TEMPLATE_INVALID', 'The extract template is invalid:', checked.diagnostics);
  const doc = { ...checked.value, format: checked.value.format ?? 'csv' };
  const elsewhere = collaborationMismatch(doc.collaboration, collaboration.id);
  if (elsewhere.length > 0)
    throw documentRefused('EXTRACT_TEMPLATE_INVALID', 'The extract template is invalid:', elsewhere);
  refuseIf(extractTemplateProblems(doc, collaboration));
  return doc;
}
