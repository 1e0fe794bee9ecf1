import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Diagnostic } from '../errors/diagnostic.ts';
import { documentRefused, type RefusedError } from '../errors/refused-error.ts';
import { compileValidator, invalidValue } from '../validation/json-validator.ts';
import type { Collaboration } from './collaboration.ts';
import { compileCollaboration } from './compile-collaboration.ts';
import type { CollaborationDocument } from './policy-document.ts';
import { semanticProblems } from './semantic-checks.ts';
import schema from '../../policies/schema/collaboration.schema.json' with { type: 'json' };

const validateDocument = compileValidator<CollaborationDocument>(schema);

/** A policy file the room refuses to start with; details list every problem with its pointer. */
const policyInvalid = (file: string, diagnostics: readonly Diagnostic[]): RefusedError =>
  documentRefused('POLICY_INVALID', `Policy ${file} is invalid:`, diagnostics, { file });

/** Validates one parsed document (schema, then cross-references) and compiles it. */
export function parseCollaboration(value: unknown, file = '<document>'): Collaboration {
  const checked = validateDocument(value);
  if (!checked.ok) throw policyInvalid(file, checked.diagnostics);
  const problems = semanticProblems(checked.value);
  if (problems.length > 0) throw policyInvalid(file, problems);
  return compileCollaboration(checked.value);
}

/** Loads every `*.json` in the folder (not its schema/ subfolder); one bad file refuses them all. */
export async function loadPolicies(directory: string): Promise<Collaboration[]> {
  const files = (await readdir(directory, { withFileTypes: true }))
    .filter((entry) => entry.isFile() && entry.name.endsWith('.json'))
    .map((entry) => entry.name)
    .sort();
  const collaborations: Collaboration[] = [];
  for (const name of files) {
    const path = join(directory, name);
    let value: unknown;
    try {
      value = JSON.parse(await readFile(path, 'utf8'));
    } catch (error) {
      throw policyInvalid(path, [invalidValue('/', `is not valid JSON (${(error as Error).message})`, 'JSON')]);
    }
    const collaboration = parseCollaboration(value, path);
    if (collaborations.some((c) => c.id === collaboration.id)) {
      const message = `collaboration id "${collaboration.id}" is already used by another policy file`;
      throw policyInvalid(path, [invalidValue('/id', message, 'one policy file per collaboration')]);
    }
    collaborations.push(collaboration);
  }
  return collaborations;
}
