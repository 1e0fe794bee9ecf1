import { availableParallelism } from 'node:os';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { UnprocessableError } from '../errors/cleanroom-error.ts';
import { diagnostic } from '../errors/diagnostic.ts';
import { refusalOf } from '../errors/refused-error.ts';
import type { CleanroomError } from '../errors/cleanroom-error.ts';
import { PEER_INPUT_TASKS } from './psi-tasks.ts';
import type { PsiTaskReply, PsiTaskRequest, PsiTasks, PsiTaskType } from './psi-tasks.ts';

export interface WorkerPoolOptions {
  /** Number of worker threads; defaults to os.availableParallelism(). */
  readonly size?: number;
  /** Which worker runs the tasks: psi.js's WASM (psi-worker.ts) or the native engine (native-worker.ts). */
  readonly engine?: 'psi.js' | 'native';
}

interface Job {
  readonly request: PsiTaskRequest;
  readonly transfer: readonly ArrayBuffer[];
  readonly resolve: (result: unknown) => void;
  readonly reject: (error: CleanroomError) => void;
}

interface Slot {
  worker: Worker;
  job: Job | undefined;
}

/**
 * Where the worker script lives. From source (tsx, vitest) it is a .ts file that plain Node cannot
 * load, and Node 20 loads a worker's entry before `--import` hooks apply; so a one-line evaluated
 * entry registers tsx's loader (resolved from this file, not the caller's cwd) and then imports it.
 */
function workerScript(name: string): { entry: string | URL; eval: boolean } {
  const compiled = new URL(`./${name}.js`, import.meta.url);
  if (!import.meta.url.endsWith('.ts')) return { entry: compiled, eval: false };
  const tsxApi = resolveTsxEsmApi();
  const target = new URL(`./${name}.ts`, import.meta.url).href;
  const entry =
    `import(${JSON.stringify(tsxApi)}).then((tsx) => { tsx.register(); ` +
    `return import(${JSON.stringify(target)}); });`;
  return { entry, eval: true };
}

function resolveTsxEsmApi(): string {
  // import.meta.resolve picks the package's "import" export; some test runners do not provide it,
  // and createRequire finds the "require" build, whose ESM twin sits beside it.
  if (typeof import.meta.resolve === 'function') return import.meta.resolve('tsx/esm/api');
  const requireBuild = createRequire(import.meta.url).resolve('tsx/esm/api');
  return pathToFileURL(join(dirname(requireBuild), 'index.mjs')).href;
}

function failure(type: PsiTaskType, reason: string): CleanroomError {
  // A peer's bytes can pass framing yet hold points psi.js rejects: that is the peer's malformed message.
  if (PEER_INPUT_TASKS.has(type)) {
    const message = 'The PSI message could not be processed.';
    return refusalOf(
      diagnostic('PSI_MALFORMED_MESSAGE', message, 'psi.js message format', { reason: 'rejected by the PSI engine' }),
    );
  }
  return new UnprocessableError('PSI_ENGINE_FAILURE', 'The PSI engine failed on validated input.', {
    task: type,
    reason,
  });
}

/**
 * A fixed set of PSI worker threads (psi.js or native); a worker that failed is replaced, since its
 * WASM state may be broken.
 */
export class PsiWorkerPool {
  readonly size: number;
  readonly #script: string;
  readonly #slots: Slot[] = [];
  readonly #queue: Job[] = [];
  #nextId = 1;
  #closed = false;

  constructor(options: WorkerPoolOptions = {}) {
    this.size = Math.max(1, Math.floor(options.size ?? availableParallelism()));
    this.#script = options.engine === 'native' ? 'native-worker' : 'psi-worker';
    for (let i = 0; i < this.size; i += 1) this.#slots.push({ worker: this.#spawn(), job: undefined });
  }

  /** Runs one task on the next idle worker; the promise rejects only with a CleanroomError. */
  run<T extends PsiTaskType>(
    type: T,
    task: PsiTasks[T]['task'],
    transfer: readonly ArrayBuffer[] = [],
  ): Promise<PsiTasks[T]['result']> {
    if (this.#closed)
      return Promise.reject(new UnprocessableError('PSI_ENGINE_FAILURE', 'The PSI worker pool is closed.'));
    return new Promise((resolve, reject) => {
      const request: PsiTaskRequest = { id: this.#nextId++, type, task };
      this.#queue.push({ request, transfer, resolve: resolve as (result: unknown) => void, reject });
      this.#dispatch();
    });
  }

  /** Terminates every worker; queued tasks are refused. */
  async close(): Promise<void> {
    this.#closed = true;
    const closed = () => new UnprocessableError('PSI_ENGINE_FAILURE', 'The PSI worker pool was closed.');
    for (const job of this.#queue.splice(0)) job.reject(closed());
    // A running job is rejected too: its worker is terminated, and its exit is ignored once closed.
    for (const slot of this.#slots) {
      slot.job?.reject(closed());
      slot.job = undefined;
    }
    await Promise.all(this.#slots.map((slot) => slot.worker.terminate()));
  }

  #spawn(): Worker {
    const script = workerScript(this.#script);
    // psi.js's C++ logging writes to stderr; keep it out of the member's terminal.
    const worker = new Worker(script.entry, { eval: script.eval, execArgv: [], stderr: true });
    worker.stderr.resume();
    worker.unref();
    worker.on('message', (reply: PsiTaskReply) => this.#onReply(worker, reply));
    worker.on('error', (error) => this.#onCrash(worker, `worker error: ${error.message.slice(0, 200)}`));
    worker.on('exit', () => this.#onCrash(worker, 'worker exited'));
    return worker;
  }

  #dispatch(): void {
    for (const slot of this.#slots) {
      if (slot.job !== undefined) continue;
      const job = this.#queue.shift();
      if (job === undefined) return;
      slot.job = job;
      slot.worker.ref();
      slot.worker.postMessage(job.request, [...job.transfer]);
    }
  }

  #onReply(worker: Worker, reply: PsiTaskReply): void {
    const slot = this.#slots.find((s) => s.worker === worker);
    const job = slot?.job;
    if (slot === undefined || job === undefined || job.request.id !== reply.id) return;
    slot.job = undefined;
    worker.unref();
    if (reply.ok) {
      job.resolve(reply.result);
    } else {
      job.reject(failure(job.request.type, reply.reason));
      this.#replace(slot);
    }
    this.#dispatch();
  }

  #onCrash(worker: Worker, reason: string): void {
    const slot = this.#slots.find((s) => s.worker === worker);
    if (slot === undefined || this.#closed) return;
    const job = slot.job;
    slot.job = undefined;
    if (job !== undefined) job.reject(failure(job.request.type, reason));
    this.#replace(slot);
    this.#dispatch();
  }

  #replace(slot: Slot): void {
    const broken = slot.worker;
    slot.worker = this.#spawn();
    broken.removeAllListeners();
    void broken.terminate();
  }
}
