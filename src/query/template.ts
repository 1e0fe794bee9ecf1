import { contentHash } from '../crypto/hashing.ts';
import type { BoundParameter, ScalarParameterType } from '../store/bound-parameters.ts';
import { fromTypeName, type SqlType } from './sql-types.ts';
import { compileValidator, invalidValue } from '../validation/json-validator.ts';
import { documentRefused } from '../errors/refused-error.ts';

export type ScalarSpec =
  | { readonly type: 'string'; readonly maxLength?: number }
  | { readonly type: 'integer'; readonly minimum?: number; readonly maximum?: number }
  | { readonly type: 'number'; readonly minimum?: number; readonly maximum?: number }
  | { readonly type: 'date'; readonly minimum?: string; readonly maximum?: string }
  | { readonly type: 'enum'; readonly values: readonly string[] };

export type ParameterSpec = (
  ScalarSpec | { readonly type: 'list'; readonly items: ScalarSpec; readonly maxItems?: number }
) & { readonly description?: string };

/** A query template: parameterised SQL whose content hash officers sign. */
export interface TemplateDocument {
  readonly name: string;
  readonly collaboration: string;
  readonly description: string;
  readonly sql: string;
  readonly parameters: Readonly<Record<string, ParameterSpec>>;
}

const scalarSchema = {
  oneOf: [
    {
      type: 'object',
      additionalProperties: false,
      required: ['type'],
      properties: {
        type: { const: 'string' },
        maxLength: { type: 'integer', minimum: 1, maximum: 1000 },
        // No `pattern`: a proposer's regular expression would run on the room's event loop for every
        // value bound (catastrophic backtracking froze the room for seconds in a hostile review).
        description: { type: 'string' },
      },
    },
    {
      type: 'object',
      additionalProperties: false,
      required: ['type'],
      properties: {
        type: { enum: ['integer', 'number'] },
        minimum: { type: 'number' },
        maximum: { type: 'number' },
        description: { type: 'string' },
      },
    },
    {
      type: 'object',
      additionalProperties: false,
      required: ['type'],
      properties: {
        type: { const: 'date' },
        minimum: { type: 'string', format: 'date' },
        maximum: { type: 'string', format: 'date' },
        description: { type: 'string' },
      },
    },
    {
      type: 'object',
      additionalProperties: false,
      required: ['type', 'values'],
      properties: {
        type: { const: 'enum' },
        values: { type: 'array', minItems: 1, maxItems: 1000, items: { type: 'string', maxLength: 200 } },
        description: { type: 'string' },
      },
    },
  ],
};

export const validateTemplateDocument = compileValidator<TemplateDocument>({
  type: 'object',
  additionalProperties: false,
  required: ['name', 'collaboration', 'description', 'sql', 'parameters'],
  properties: {
    name: { type: 'string', pattern: '^[a-z][a-z0-9_]{0,62}$' },
    collaboration: { type: 'string', pattern: '^[a-z][a-z0-9-]{0,62}$' },
    description: { type: 'string', maxLength: 2000 },
    sql: { type: 'string', minLength: 1, maxLength: 20000 },
    parameters: {
      type: 'object',
      propertyNames: { pattern: '^[a-z][a-z0-9_]{0,62}$' },
      additionalProperties: {
        anyOf: [
          scalarSchema,
          {
            type: 'object',
            additionalProperties: false,
            required: ['type', 'items'],
            properties: {
              type: { const: 'list' },
              items: scalarSchema,
              maxItems: { type: 'integer', minimum: 1, maximum: 1000 },
              description: { type: 'string' },
            },
          },
        ],
      },
    },
  },
});

/** The content hash officers sign: any change to SQL, parameters or description needs new signatures. */
export const templateHash = (doc: TemplateDocument): string => contentHash(doc);

export const approvalSigningBytes = (collaboration: string, hash: string, decision: 'approve' | 'reject'): Uint8Array =>
  new TextEncoder().encode(`cleanroom-template-review-v1:${collaboration}:${hash}:${decision}`);

function valueSchema(spec: ScalarSpec): object {
  switch (spec.type) {
    case 'string':
      return { type: 'string', maxLength: spec.maxLength ?? 200 };
    // An integer arrives as a JSON number: past 2^53 its digits are already lost, so it is refused
    // rather than bound as some other value (found by a review of the ClickHouse executor).
    case 'integer':
      return {
        type: 'integer',
        minimum: Math.max(spec.minimum ?? -Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER),
        maximum: Math.min(spec.maximum ?? Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER),
      };
    case 'number':
      return {
        type: spec.type,
        ...(spec.minimum !== undefined ? { minimum: spec.minimum } : {}),
        ...(spec.maximum !== undefined ? { maximum: spec.maximum } : {}),
      };
    case 'date':
      return { type: 'string', format: 'date' };
    case 'enum':
      return { enum: [...spec.values] };
  }
}

const DUCKDB_TYPE: Record<ScalarSpec['type'], ScalarParameterType> = {
  string: 'VARCHAR',
  enum: 'VARCHAR',
  date: 'DATE',
  integer: 'BIGINT',
  number: 'DOUBLE',
};

/** The type each declared parameter is bound as, for the checker's type rules. */
export function parameterTypes(doc: TemplateDocument): ReadonlyMap<string, SqlType> {
  return new Map(
    Object.entries(doc.parameters).map(([name, spec]) => [
      name,
      spec.type === 'list'
        ? { kind: 'list' as const, item: fromTypeName(DUCKDB_TYPE[spec.items.type]) }
        : fromTypeName(DUCKDB_TYPE[spec.type]),
    ]),
  );
}

function dateInBounds(value: unknown, spec: ScalarSpec): boolean {
  if (spec.type !== 'date' || typeof value !== 'string') return true;
  return (spec.minimum === undefined || value >= spec.minimum) && (spec.maximum === undefined || value <= spec.maximum);
}

/**
 * Validates parameter values against the template's specs (every parameter required, no others)
 * and types them for binding. Values are never spliced into SQL.
 */
export function bindParameters(doc: TemplateDocument, values: unknown): Record<string, BoundParameter> {
  const properties = Object.fromEntries(
    Object.entries(doc.parameters).map(([name, spec]) => [
      name,
      spec.type === 'list'
        ? { type: 'array', minItems: 1, maxItems: spec.maxItems ?? 100, items: valueSchema(spec.items) }
        : valueSchema(spec),
    ]),
  );
  const validate = compileValidator<Record<string, unknown>>({
    type: 'object',
    additionalProperties: false,
    required: Object.keys(doc.parameters),
    properties,
  });
  const checked = validate(values ?? {});
  if (!checked.ok) {
    throw documentRefused(
      'TEMPLATE_PARAMETERS_INVALID',
      `Parameters for template ${doc.name} are invalid:`,
      checked.diagnostics,
    );
  }
  const bound: Record<string, BoundParameter> = {};
  for (const [name, spec] of Object.entries(doc.parameters)) {
    const value = checked.value[name];
    const scalarSpec = spec.type === 'list' ? spec.items : spec;
    const items = spec.type === 'list' ? (value as unknown[]) : [value];
    if (!items.every((v) => dateInBounds(v, scalarSpec))) {
      const { minimum, maximum } = scalarSpec as { minimum?: string; maximum?: string };
      const outside = invalidValue(
        `/${name}`,
        'is outside its allowed date range',
        `parameters.${name}: ${minimum ?? '…'} to ${maximum ?? '…'}`,
      );
      throw documentRefused(
        'TEMPLATE_PARAMETERS_INVALID',
        `Parameter ${name} is outside its allowed date range:`,
        [outside],
        { parameter: name, minimum, maximum },
      );
    }
    bound[name] =
      spec.type === 'list'
        ? { type: 'LIST', itemType: DUCKDB_TYPE[spec.items.type], values: value as (string | number)[] }
        : { type: DUCKDB_TYPE[spec.type], value: value as string | number };
  }
  return bound;
}

/**
 * Reads a template file from sql/: a leading block comment holding the JSON header (name,
 * collaboration, description, parameters), then the SQL.
 */
export function parseTemplateFile(fileText: string, file: string): TemplateDocument {
  const match = /^\s*\/\*([\s\S]*?)\*\/\s*([\s\S]+)$/.exec(fileText);
  let header: unknown;
  try {
    header = match ? JSON.parse(match[1] as string) : undefined;
  } catch {
    header = undefined;
  }
  if (!match || typeof header !== 'object' || header === null) {
    const layout = invalidValue(
      '/',
      'must start with a /* { JSON header } */ comment followed by the SQL',
      'template file layout',
    );
    throw documentRefused('TEMPLATE_FILE_INVALID', `${file}:`, [layout], { file });
  }
  const doc = { ...(header as object), sql: (match[2] as string).trim() };
  const checked = validateTemplateDocument(doc);
  if (!checked.ok) throw documentRefused('TEMPLATE_FILE_INVALID', `${file}:`, checked.diagnostics, { file });
  return checked.value;
}
