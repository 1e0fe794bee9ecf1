import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseTemplateFile } from '../query/template.ts';
import type { RoomServices } from './room-services.ts';
import { proposeTemplate } from './template-registry.ts';

/** Registers the templates in sql/ as proposals by the room itself; officers still approve them. */
export async function loadTemplateFiles(services: RoomServices): Promise<number> {
  const files = (await readdir(services.config.templatesDirectory).catch(() => [] as string[]))
    .filter((f) => f.endsWith('.sql'))
    .sort();
  let loaded = 0;
  for (const file of files) {
    const document = parseTemplateFile(await readFile(join(services.config.templatesDirectory, file), 'utf8'), file);
    const collaboration = services.collaborations.get(document.collaboration);
    if (!collaboration) {
      services.log.warn(
        { file, collaboration: document.collaboration },
        'template names a collaboration this room does not have; skipped',
      );
      continue;
    }
    await proposeTemplate(services, collaboration, 'room', document);
    loaded += 1;
  }
  return loaded;
}
