import { Ajv2020, type ErrorObject } from 'ajv/dist/2020.js';
import * as addFormatsModule from 'ajv-formats';

/** One problem with a JSON document: where (RFC 6901 pointer) and what, as a sentence. */
export interface ValidationProblem {
  readonly pointer: string;
  readonly message: string;
}

export type Validator<T> = (value: unknown) => { ok: true; value: T } | { ok: false; problems: ValidationProblem[] };

// ajv-formats is CommonJS whose `default` is the plugin; under nodenext the namespace holds it.
const addFormats = addFormatsModule.default.default;

const ajv = new Ajv2020({ allErrors: true, strict: true, useDefaults: false });
addFormats(ajv);

function sentence(error: ErrorObject): ValidationProblem {
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
  return { pointer: pointer || '/', message };
}

/** Compiles a JSON Schema (draft 2020-12) into a validator that reports every problem at once. */
export function compileValidator<T>(schema: object): Validator<T> {
  const validate = ajv.compile(schema);
  return (value) => {
    if (validate(value)) return { ok: true, value: value as T };
    const seen = new Set<string>();
    const problems = (validate.errors ?? []).map(sentence).filter((p) => {
      const key = `${p.pointer} ${p.message}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
    return { ok: false, problems };
  };
}

/** Formats problems as lines a person can act on: `/datasets/0/columns/2/class: must be one of …`. */
export const describeProblems = (problems: readonly ValidationProblem[]): string =>
  problems.map((p) => `${p.pointer}: ${p.message}`).join('\n');
