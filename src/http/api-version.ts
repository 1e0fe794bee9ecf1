import { readFileSync } from 'node:fs';

/** The package version, which the OpenAPI document states as the API's. */
export const API_VERSION: string = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;
