import { Ajv2020, type ErrorObject } from 'ajv/dist/2020.js';
import * as addFormatsModule from 'ajv-formats';
import { diagnostic, type Diagnostic } from '../errors/diagnostic.ts';

/**
 * A validated document, or every problem with it as INVALID_VALUE diagnostics: where (RFC 6901
 * pointer, in `data.pointer`), what (a sentence), and the schema rule that refused it.
 */
export type Validator<T> = ((value: unknown) => { ok: true; value: T } | { ok: false; diagnostics: Diagnostic[] }) & {
  /** the JSON Schema it checks, for the OpenAPI document (the same object, never a copy) */
  readonly schema: object;
};

// ajv-formats is CommonJS whose `default` is the plugin; under nodenext the namespace holds it.
const addFormats = addFormatsModule.default.default;

const ajv = new Ajv2020({ allErrors: true, strict: true, useDefaults: false });
addFormats(ajv);

function sentence(error: ErrorObject): Diagnostic {
  const params = error.params as Record<string, unknown>;
  let pointer = error.instancePath || '';
  let message = error.message ?? 'is invalid';
  switch (error.keyword) {
    case 'required':
      pointer = `${pointer}/${String(params.missingProperty)}`;
      message = 'is required but missing';
      break;
    case 'additionalProperties':
      pointer = `${pointer}/${String(params.additionalProperty)}`;
      message = 'is not a known field (check its spelling)';
      break;
    case 'enum':
      message = `must be one of: ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
      break;
    case 'pattern':
      message = `must match the pattern ${String(params.pattern)}`;
      break;
    default:
      break;
  }
  return diagnostic('INVALID_VALUE', message, `schema ${error.schemaPath}`, { pointer: pointer || '/' });
}

/** Compiles a JSON Schema (draft 2020-12) into a validator that reports every problem at once. */
export function compileValidator<T>(schema: object): Validator<T> {
  const validate = ajv.compile(schema);
  const check = (value: unknown): ReturnType<Validator<T>> => {
    if (validate(value)) return { ok: true, value: value as T };
    const seen = new Set<string>();
    const diagnostics = (validate.errors ?? []).map(sentence).filter((d) => {
      const key = `${d.code === 'INVALID_VALUE' ? d.data.pointer : ''} ${d.message}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
    return { ok: false, diagnostics };
  };
  return Object.assign(check, { schema });
}

/** An INVALID_VALUE diagnostic for a check the schema cannot state (cross-field rules). */
export const invalidValue = (pointer: string, message: string, rule: string): Diagnostic =>
  diagnostic('INVALID_VALUE', message, rule, { pointer });

/** A template names the collaboration it is proposed to: a diagnostic when it names another, else none. */
export const collaborationMismatch = (named: string, collaborationId: string): Diagnostic[] =>
  named === collaborationId
    ? []
    : [
        invalidValue(
          '/collaboration',
          `names collaboration "${named}", not "${collaborationId}"`,
          'a template belongs to its collaboration',
        ),
      ];
