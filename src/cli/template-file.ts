import { readFile } from 'node:fs/promises';
import { InvalidInputError } from '../errors/cleanroom-error.ts';
import { parseTemplateFile } from '../query/template.ts';

/**
 * A template as a partner keeps it: JSON, or (`sql`: true, query templates) the repository's own
 * layout of sql/*.sql, a `/* { JSON header } *\/` comment followed by the SQL. Either way the room
 * checks it again; here a malformed file is named with what is wrong, before anything is sent.
 */
export async function readTemplateFile(file: string, options: { sql: boolean }): Promise<unknown> {
  const text = await readFile(file, 'utf8');
  if (options.sql && /^\s*\/\*/.test(text)) return parseTemplateFile(text, file);
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    const layouts = options.sql ? 'JSON, or a /* { JSON header } */ comment followed by the SQL' : 'JSON';
    throw new InvalidInputError(
      'TEMPLATE_FILE_INVALID',
      `${file} is not a template file: it must be ${layouts} (${(error as Error).message}).`,
      { file },
    );
  }
}
