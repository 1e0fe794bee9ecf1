import { createHash } from 'node:crypto';
import { parsePhoneNumberFromString } from 'libphonenumber-js/min';

/** How both members turn a raw identifier into the string they intersect on. */
export type IdentifierNormalisation = 'email' | 'e164' | 'sha256-email' | 'none';

export const IDENTIFIER_NORMALISATIONS: readonly IdentifierNormalisation[] = ['email', 'e164', 'sha256-email', 'none'];

/**
 * Distinct normalised identifiers plus the way back to the caller's rows. `rowValue[row]` is the
 * index into `values` of that row's identifier, or -1 when the row was dropped as invalid.
 */
export interface NormalisedIdentifiers {
  readonly values: readonly string[];
  readonly rowValue: Int32Array;
  readonly invalidRows: number;
  readonly duplicateRows: number;
}

const EMAIL = /^[^\s@]+@[^\s@]+$/u;
const E164 = /^\+[1-9]\d{7,14}$/u;
const SHA256_HEX = /^[0-9a-f]{64}$/u;
const UNICODE_SPACES = /[\p{Zs}\u200b-\u200d\u2060\ufeff]/gu;

function normaliseEmail(raw: string): string | undefined {
  const value = raw.normalize('NFC').trim().toLowerCase();
  return EMAIL.test(value) ? value : undefined;
}

/**
 * E.164 through libphonenumber's rules (a maintained port with per-country metadata), not a regex: the
 * written forms of one number must meet. `+44 (0)20 7946 0958`, `+44 20 7946 0958` and
 * `+4402079460958` are one number (the national trunk 0 is dropped after a country code), which a
 * regex made `+4402…`. Numbers whose length is impossible for their country are refused, and so is
 * every number without a country code: two members' national formats would never meet, so the room
 * refuses rather than guesses a country.
 */
function normaliseE164(raw: string): string | undefined {
  // Any Unicode space (no-break, thin, …) or zero-width mark is a separator, as a space is.
  // NFKC folds full-width digits and plus signs (＋４４…) into ASCII, as other scripts' digits are.
  const text = raw.normalize('NFKC').replace(UNICODE_SPACES, ' ').trim();
  const international = text.startsWith('00') ? `+${text.slice(2)}` : text;
  if (!international.startsWith('+')) return undefined;
  const parsed = parsePhoneNumberFromString(international);
  // An extension names another line: dropping it would make different numbers meet.
  if (!parsed || parsed.ext !== undefined) return undefined;
  return parsed.isPossible() && E164.test(parsed.number) ? parsed.number : undefined;
}

function normaliseSha256Email(raw: string): string | undefined {
  const trimmed = raw.normalize('NFC').trim().toLowerCase();
  // A member may already hold hashed emails; a 64-hex string can never be a valid email.
  if (SHA256_HEX.test(trimmed)) return trimmed;
  const email = normaliseEmail(trimmed);
  return email === undefined ? undefined : createHash('sha256').update(email, 'utf8').digest('hex');
}

function normaliseNone(raw: string): string | undefined {
  const value = raw.normalize('NFC').trim();
  return value === '' ? undefined : value;
}

const NORMALISERS: Readonly<Record<IdentifierNormalisation, (raw: string) => string | undefined>> = {
  email: normaliseEmail,
  e164: normaliseE164,
  'sha256-email': normaliseSha256Email,
  none: normaliseNone,
};

/** Normalises one identifier; undefined means the value is invalid for this normalisation. */
export function normaliseIdentifier(raw: string, kind: IdentifierNormalisation): string | undefined {
  return NORMALISERS[kind](raw);
}

/**
 * Normalises then dedupes: psi.js reports every duplicate client input, and duplicates would also
 * let a member pad a tiny set past `minSetSize`.
 */
export function normaliseIdentifiers(
  rows: readonly (string | null | undefined)[],
  kind: IdentifierNormalisation,
): NormalisedIdentifiers {
  const normalise = NORMALISERS[kind];
  const indexOf = new Map<string, number>();
  const values: string[] = [];
  const rowValue = new Int32Array(rows.length);
  let invalidRows = 0;
  let duplicateRows = 0;
  rows.forEach((raw, row) => {
    const value = raw === null || raw === undefined ? undefined : normalise(raw);
    if (value === undefined) {
      rowValue[row] = -1;
      invalidRows += 1;
      return;
    }
    const known = indexOf.get(value);
    if (known !== undefined) {
      rowValue[row] = known;
      duplicateRows += 1;
      return;
    }
    indexOf.set(value, values.length);
    rowValue[row] = values.length;
    values.push(value);
  });
  return { values, rowValue, invalidRows, duplicateRows };
}

/** The caller's original rows (sorted) whose identifier is one of the matched distinct values. */
export function rowsOfValues(set: NormalisedIdentifiers, valueIndices: Iterable<number>): number[] {
  const matched = new Uint8Array(set.values.length);
  for (const index of valueIndices) matched[index] = 1;
  const rows: number[] = [];
  set.rowValue.forEach((value, row) => {
    if (value >= 0 && matched[value] === 1) rows.push(row);
  });
  return rows;
}
