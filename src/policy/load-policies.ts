import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Diagnostic } from '../errors/diagnostic.ts';
import { documentRefused, RefusedError } from '../errors/refused-error.ts';
import { compileValidator } from '../validation/json-validator.ts';
import type { Collaboration } from './collaboration.ts';
import { compileCollaboration } from './compile-collaboration.ts';
import type { CollaborationDocument } from './policy-document.ts';
import { semanticProblems } from './semantic-checks.ts';
import schema from '../../policies/schema/collaboration.schema.json' with { type: 'json' };

const validateDocument = compileValidator<CollaborationDocument>(schema);

/** A policy document that does not validate; details list every problem with its pointer. */
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

/** A policy file the room could not serve, and why (JSON pointers and sentences). */
export interface QuarantinedPolicy {
  readonly file: string;
  readonly problems: readonly { readonly pointer: string; readonly message: string }[];
}

/**
 * Loads every `*.json` in the folder (not its schema/ subfolder). A file that does not parse or
 * validate, or reuses another file's collaboration id, is quarantined with its problems: the other
 * collaborations serve, and no member of the quarantined one can act until its file is fixed.
 */
export async function loadPolicies(
  directory: string,
): Promise<{ collaborations: Collaboration[]; quarantined: QuarantinedPolicy[] }> {
  const files = (await readdir(directory, { withFileTypes: true }))
    .filter((entry) => entry.isFile() && entry.name.endsWith('.json'))
    .map((entry) => entry.name)
    .sort();
  const collaborations: Collaboration[] = [];
  const quarantined: QuarantinedPolicy[] = [];
  const pointed = (diagnostics: readonly Diagnostic[]) =>
    diagnostics.map((d) => ({ pointer: String((d.data as { pointer?: unknown }).pointer ?? ''), message: d.message }));
  for (const name of files) {
    const path = join(directory, name);
    let value: unknown;
    try {
      value = JSON.parse(await readFile(path, 'utf8'));
    } catch (error) {
      quarantined.push({
        file: name,
        problems: [{ pointer: '', message: `is not valid JSON (${(error as Error).message})` }],
      });
      continue;
    }
    let collaboration: Collaboration;
    try {
      collaboration = parseCollaboration(value, path);
    } catch (error) {
      if (!(error instanceof RefusedError)) throw error;
      quarantined.push({ file: name, problems: pointed(error.diagnostics) });
      continue;
    }
    if (collaborations.some((c) => c.id === collaboration.id)) {
      const message = `collaboration id "${collaboration.id}" is already used by another policy file`;
      quarantined.push({ file: name, problems: [{ pointer: '/id', message }] });
      continue;
    }
    collaborations.push(collaboration);
  }
  return { collaborations, quarantined };
}
