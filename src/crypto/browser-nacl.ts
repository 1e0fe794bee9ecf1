import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

/**
 * tweetnacl's own browser build (nacl-fast.min.js, the package the room signs and verifies with), as
 * the console serves it: the page signs with the same library the formats are defined by.
 */
export function browserNaclSource(): Buffer {
  return readFileSync(createRequire(import.meta.url).resolve('tweetnacl/nacl-fast.min.js'));
}
