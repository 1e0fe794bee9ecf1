import type { CountInputs } from './psi-session.ts';
/**
 * The messages between the worker pool and psi-worker.ts. Sets travel as strings, encrypted
 * elements packed (see psi-protobuf.ts); keys are the 32-byte scalars of psi.js's createFromKey.
 */
export interface PsiTasks {
  'new-key': { task: Record<string, never>; result: Uint8Array };
  'server-setup': {
    task: { key: Uint8Array; inputs: readonly string[]; falsePositiveRate: number };
    result: Uint8Array;
  };
  'client-request': {
    task: { key: Uint8Array; revealIntersection: boolean; inputs: readonly string[] };
    result: Uint8Array;
  };
  'server-process': {
    task: { key: Uint8Array; revealIntersection: boolean; elements: Uint8Array };
    result: Uint8Array;
  };
  'client-finalise': {
    task: { key: Uint8Array; revealIntersection: boolean; setup: Uint8Array; elements: Uint8Array };
    result: { size: number; indices?: Int32Array };
  };
  sort: { task: { buffers: readonly Uint8Array[] }; result: Uint8Array };
  // The native engine (native-worker.ts): identifiers hashed to the curve; a chunk of elements
  // multiplied by the key (the caller writes the product back in place); a set shuffled in place,
  // its buffer moved to the worker and back (never copied); the room's check and count.
  'native-hash': { task: { inputs: readonly string[] }; result: Uint8Array };
  'native-multiply': { task: { key: Uint8Array; elements: Uint8Array }; result: Uint8Array };
  'native-shuffle': { task: { elements: Uint8Array }; result: Uint8Array };
  'native-verify-count': {
    task: CountInputs;
    result: { violators: ('server' | 'client')[]; common: number };
  };
}

export type PsiTaskType = keyof PsiTasks;

/** Which failures came from a peer's bytes (malformed message) rather than from our own inputs. */
export const PEER_INPUT_TASKS: ReadonlySet<PsiTaskType> = new Set<PsiTaskType>([
  'server-process',
  'client-finalise',
  'native-multiply',
]);

export interface PsiTaskRequest<T extends PsiTaskType = PsiTaskType> {
  readonly id: number;
  readonly type: T;
  readonly task: PsiTasks[T]['task'];
}

export type PsiTaskReply =
  | { readonly id: number; readonly ok: true; readonly result: unknown }
  | { readonly id: number; readonly ok: false; readonly reason: string };
