import { ConflictError, InvalidInputError } from '../errors/cleanroom-error.ts';

/** The fewest hex digits an officer may name a hash by (48 bits), as `template list` prints it. */
export const MIN_HASH_PREFIX = 12;

/** What is being signed, for the refusal: its code, a noun and the command to review it again. */
export interface SignedThing {
  readonly code: string;
  readonly what: string;
  readonly review: string;
}

/**
 * The hash an officer signs: the one they named after reviewing it, never simply whatever the
 * room holds now (someone may have changed it since). A full SHA-256 is signed as named (the room
 * refuses it if it is no longer current); a prefix of at least 12 hex digits stands for the
 * current hash only if the current hash starts with it. Anything else is refused before a
 * signature exists.
 */
export function hashToSign(named: string, current: string, thing: SignedThing): string {
  const hash = named.trim().toLowerCase();
  if (!new RegExp(`^[0-9a-f]{${MIN_HASH_PREFIX},64}$`).test(hash)) {
    throw new InvalidInputError(
      'HASH_INVALID',
      `--hash takes the SHA-256 you reviewed: 64 hex digits, or at least the first ${MIN_HASH_PREFIX}.`,
    );
  }
  if (!current.startsWith(hash)) {
    throw new ConflictError(
      thing.code,
      `The ${thing.what} on the room is not the version you named (${hash}): it changed since you reviewed ` +
        `it, or the hash is mistyped. Nothing was signed; review it again with \`${thing.review}\`.`,
      { namedHash: hash },
    );
  }
  return hash.length === 64 ? hash : current;
}
