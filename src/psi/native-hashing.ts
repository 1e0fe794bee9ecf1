import { normaliseIdentifier, type IdentifierNormalisation } from './identifier-normalisation.ts';
import { NATIVE_ELEMENT_BYTES } from './native-messages.ts';
import type { PsiPhase } from './psi-party-options.ts';
import { compactDistinct } from './sorted-elements.ts';
import type { PsiWorkerPool } from './worker-pool.ts';

/**
 * A member's own identifiers hashed to the curve, in bounded memory: rows are normalised as they
 * stream in and hashed in worker threads a chunk at a time, so no process ever holds the column as
 * strings (~70 bytes each in V8, plus a Map to dedupe). Duplicates are removed on the hashed
 * elements (sorted-elements.ts): equal identifiers hash to equal elements, and distinct ones to
 * distinct elements except with probability ~n²/2²⁵² (a collision of the hash to ristretto255).
 * Hashing needs no key, so a set is hashed (and its size checked) before a session is opened.
 */
export interface HashedSet {
  /**
   * The distinct elements H(x), 32 bytes each, at the start of a buffer no one else uses, so it can
   * move to a worker and back without a copy (a session's run blinds them in place and detaches the
   * buffer: hash again for another session).
   */
  readonly elements: Uint8Array;
  readonly rows: number;
  readonly invalidRows: number;
  readonly duplicateRows: number;
}

/** Identifiers per hashing task: large enough to amortise a message, small enough to keep workers fed. */
const HASH_CHUNK = 8192;

/**
 * Normalises and hashes streamed batches of raw identifiers (null = a missing value, counted as
 * invalid), at most two chunks per worker in flight, then dedupes the hashed elements in place.
 */
export async function hashIdentifiers(
  pool: PsiWorkerPool,
  batches: AsyncIterable<readonly (string | null | undefined)[]> | Iterable<readonly (string | null | undefined)[]>,
  normalisation: IdentifierNormalisation,
  onProgress: (phase: PsiPhase, done: number, total: number) => void = () => undefined,
  /** The file's row count, when known, so progress has a fixed total; else rows read so far. */
  expectedRows?: number,
): Promise<HashedSet> {
  // Each hashed chunk is copied in as it arrives and let go: no list of chunks beside the set.
  let out = new Uint8Array(Math.max(expectedRows ?? 0, HASH_CHUNK) * NATIVE_ELEMENT_BYTES);
  let offset = 0;
  const inFlight = new Set<Promise<void>>();
  let rows = 0;
  let invalidRows = 0;
  let valid = 0;
  let done = 0;
  let pending: string[] = [];
  const dispatch = async () => {
    const inputs = pending;
    const upTo = rows;
    pending = [];
    const task = pool.run('native-hash', { inputs }).then((elements) => {
      if (offset + elements.length > out.length) {
        const grown = new Uint8Array(Math.max(2 * out.length, offset + elements.length));
        grown.set(out.subarray(0, offset));
        out = grown;
      }
      out.set(elements, offset);
      offset += elements.length;
      inFlight.delete(task);
      // Rows (invalid ones included) up to the end of this chunk are done once it is hashed.
      done = Math.max(done, upTo);
      onProgress('hash', done, Math.max(expectedRows ?? rows, done));
    });
    // Handled here so a failure while the file is still being read is not an unhandled rejection;
    // the task itself still rejects where it is awaited.
    task.catch(() => undefined);
    inFlight.add(task);
    if (inFlight.size >= pool.size * 2) await Promise.race(inFlight);
  };
  for await (const batch of batches) {
    for (const raw of batch) {
      rows += 1;
      const value = raw === null || raw === undefined ? undefined : normaliseIdentifier(raw, normalisation);
      if (value === undefined) invalidRows += 1;
      else {
        pending.push(value);
        valid += 1;
        if (pending.length === HASH_CHUNK) await dispatch();
      }
    }
  }
  if (pending.length > 0) await dispatch();
  await Promise.all(inFlight);
  // Trailing invalid rows go into no chunk: the last report covers every row.
  if (done < rows) onProgress('hash', rows, Math.max(expectedRows ?? rows, rows));
  const all = out.subarray(0, offset);
  const distinct = compactDistinct(all);
  return {
    elements: all.subarray(0, distinct * NATIVE_ELEMENT_BYTES),
    rows,
    invalidRows,
    duplicateRows: valid - distinct,
  };
}
