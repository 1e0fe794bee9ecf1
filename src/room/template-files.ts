import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseTemplateFile } from '../query/template.ts';
import type { Room } from './room.ts';
import { proposeTemplate } from './template-registry.ts';

/** Registers the templates in sql/ as proposals by the room itself; officers still approve them. */
export async function loadTemplateFiles(room: Room): Promise<number> {
  const files = (await readdir(room.config.templatesDirectory).catch(() => [] as string[])).filter((f) => f.endsWith('.sql')).sort();
  let loaded = 0;
  for (const file of files) {
    const document = parseTemplateFile(await readFile(join(room.config.templatesDirectory, file), 'utf8'), file);
    const collaboration = room.collaborations.get(document.collaboration);
    if (!collaboration) {
      room.log.warn({ file, collaboration: document.collaboration }, 'template names a collaboration this room does not have; skipped');
      continue;
    }
    await proposeTemplate(room, collaboration, 'room', document);
    loaded += 1;
  }
  return loaded;
}
