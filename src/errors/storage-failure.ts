import { UnavailableError } from './cleanroom-error.ts';

/** Why the room's storage refused a write, as data a client or operator can act on. */
export type StorageFailure =
  'no-space' | 'quota-exceeded' | 'read-only' | 'no-permission' | 'io-error' | 'file-too-large';

const BY_ERRNO: Readonly<Record<string, StorageFailure>> = {
  ENOSPC: 'no-space',
  EDQUOT: 'quota-exceeded',
  EROFS: 'read-only',
  EACCES: 'no-permission',
  EPERM: 'no-permission',
  EIO: 'io-error',
  EFBIG: 'file-too-large',
};

const SENTENCES: Readonly<Record<StorageFailure, string>> = {
  'no-space': 'there is no space left on its disk',
  'quota-exceeded': 'its disk quota is exhausted',
  'read-only': 'its storage is read-only',
  'no-permission': 'it may not write to its storage',
  'io-error': 'its disk reported an input/output error',
  'file-too-large': "a file grew past the file system's limit",
};

/** The storage failure behind a Node file-system error (by errno code), if it is one. */
export function storageFailureOf(error: unknown): StorageFailure | undefined {
  const code = error && typeof error === 'object' && 'code' in error ? (error as { code: unknown }).code : undefined;
  return typeof code === 'string' ? BY_ERRNO[code] : undefined;
}

/**
 * A 503 for a write the room's storage refused: `what` could not be done, `outcome` says what was
 * kept. The cause goes to the log only, never into the response.
 */
export function storageUnavailable(
  failure: StorageFailure,
  what: string,
  outcome: string,
  cause: unknown,
  details: Readonly<Record<string, unknown>> = {},
): UnavailableError {
  return new UnavailableError(
    'STORAGE_UNAVAILABLE',
    `The room could not ${what}: ${SENTENCES[failure]}. ${outcome}`,
    { failure, ...details },
    { cause },
  );
}
