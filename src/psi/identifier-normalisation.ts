import { createHash } from 'node:crypto';

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
const PHONE_PUNCTUATION = /[\s\-().]/gu;

function normaliseEmail(raw: string): string | undefined {
  const value = raw.normalize('NFC').trim().toLowerCase();
  return EMAIL.test(value) ? value : undefined;
}

function normaliseE164(raw: string): string | undefined {
  const compact = raw.normalize('NFC').trim().replace(PHONE_PUNCTUATION, '');
  // Without a country code two members' national formats would never meet; refuse rather than guess.
  const international = compact.startsWith('00') ? `+${compact.slice(2)}` : compact;
  return E164.test(international) ? international : undefined;
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
