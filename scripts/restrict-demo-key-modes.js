// npm ci / npm install run this (postinstall): git records files as 0644, so a fresh clone's demo
// keys would be readable by every user and every command would warn "chmod 600 it". The demo keys
// are public test keys, but the CLI's warning is right in general, so the clone is made to match.
import { chmodSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

const directory = fileURLToPath(new globalThis.URL('../fixtures/keys/', import.meta.url));
try {
  for (const name of readdirSync(directory)) if (name.endsWith('.key')) chmodSync(join(directory, name), 0o600);
} catch (error) {
  if (error.code !== 'ENOENT') throw error; // an install without the fixtures has nothing to restrict
}
