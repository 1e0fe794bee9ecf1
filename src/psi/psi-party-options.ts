import { checkPsiParameters } from './psi-rules.ts';
import { refuseIf } from '../errors/refused-error.ts';
import { PsiWorkerPool } from './worker-pool.ts';

export type PsiPhase = 'hash' | 'setup' | 'request' | 'process' | 'finalise';

/** What a member's side of the protocol needs besides its identifiers and a transport. */
export interface PsiPartyOptions {
  /** From the rule; both sides must agree, and the room checks the request against the rule. */
  readonly revealIntersection: boolean;
  readonly minSetSize: number;
  readonly maxSetSize?: number;
  readonly falsePositiveRate?: number;
  /** A pool to share (the caller closes it) or a worker count for a pool of our own. */
  readonly workers?: PsiWorkerPool | number;
  /** Elements per worker task; defaults to a few tasks per worker, at most 20,000. */
  readonly chunkSize?: number;
  /** Called after each chunk; `done` and `total` count elements. */
  readonly onProgress?: (phase: PsiPhase, done: number, total: number) => void;
}

const MAX_CHUNK = 20_000;

/** Splits [0, total) into chunk lengths: enough chunks to keep every worker busy and progress moving. */
export function chunkLengths(total: number, workers: number, chunkSize?: number): number[] {
  const size = Math.max(1, chunkSize ?? Math.min(MAX_CHUNK, Math.ceil(total / (workers * 4))));
  const lengths: number[] = [];
  for (let start = 0; start < total; start += size) lengths.push(Math.min(size, total - start));
  return lengths;
}

/** Slices `items` along `lengths`. */
export function sliceBy<T>(items: readonly T[], lengths: readonly number[]): T[][] {
  let start = 0;
  return lengths.map((length) => items.slice(start, (start += length)));
}

/** Runs `body` with the caller's pool or a fresh one that is always terminated afterwards. */
export async function withPool<T>(
  workers: PsiWorkerPool | number | undefined,
  body: (pool: PsiWorkerPool) => Promise<T>,
  engine: 'psi.js' | 'native' = 'psi.js',
): Promise<T> {
  if (workers instanceof PsiWorkerPool) return body(workers);
  const pool = new PsiWorkerPool(workers === undefined ? { engine } : { size: workers, engine });
  try {
    return await body(pool);
  } finally {
    await pool.close();
  }
}

/** Runs one pool task per chunk, all queued at once, reporting progress as each finishes. */
export function mapChunks<In, Out>(
  chunks: readonly In[],
  sizeOf: (chunk: In) => number,
  run: (chunk: In, index: number) => Promise<Out>,
  progress: (done: number, total: number) => void,
): Promise<Out[]> {
  const total = chunks.reduce((sum, chunk) => sum + sizeOf(chunk), 0);
  let done = 0;
  progress(0, total);
  return Promise.all(
    chunks.map(async (chunk, index) => {
      const out = await run(chunk, index);
      done += sizeOf(chunk);
      progress(done, total);
      return out;
    }),
  );
}

/** What each side's protocol run starts from. */
export interface PartySession {
  readonly pool: PsiWorkerPool;
  /** This session's fresh key, zeroed when the run ends. */
  readonly key: Uint8Array;
  /** Chunk lengths over the party's own set. */
  readonly lengths: readonly number[];
  readonly progress: NonNullable<PsiPartyOptions['onProgress']>;
}

/**
 * Runs one side of the protocol: refuses bad parameters before any work, then hands `body` a
 * worker pool and a fresh key for this session only (the same key would give the same
 * ciphertexts and link sessions), zeroing the key however the run ends.
 */
export function asParty<T>(
  role: 'server' | 'client',
  values: readonly string[],
  options: PsiPartyOptions,
  body: (session: PartySession) => Promise<T>,
): Promise<T> {
  refuseIf(checkPsiParameters(options, { [role]: values.length }));
  const progress = options.onProgress ?? (() => undefined);
  return withPool(options.workers, async (pool) => {
    const key = await pool.run('new-key', {});
    try {
      return await body({ pool, key, lengths: chunkLengths(values.length, pool.size, options.chunkSize), progress });
    } finally {
      key.fill(0);
    }
  });
}
