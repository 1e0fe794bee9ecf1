import { PsiWorkerPool } from './worker-pool.ts';

export type PsiPhase = 'setup' | 'request' | 'process' | 'finalise';

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
export async function withPool<T>(workers: PsiWorkerPool | number | undefined, body: (pool: PsiWorkerPool) => Promise<T>): Promise<T> {
  if (workers instanceof PsiWorkerPool) return body(workers);
  const pool = new PsiWorkerPool(workers === undefined ? {} : { size: workers });
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
  return Promise.all(chunks.map(async (chunk, index) => {
    const out = await run(chunk, index);
    done += sizeOf(chunk);
    progress(done, total);
    return out;
  }));
}
