import { existsSync } from 'node:fs';

/**
 * The chromium the browser tests drive: CHROMIUM_PATH, else Debian's package (`apt-get install
 * chromium`, which .ci/run does). Missing, the tests fail and say how to install it: a console test
 * that skipped itself would pass without a browser ever opening the console.
 */
export function browserExecutable(): string {
  const path = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  if (!existsSync(path))
    throw new Error(`No chromium at ${path}: install it (sudo apt-get install -y chromium) or set CHROMIUM_PATH.`);
  return path;
}
