import type { RandomSource } from '../privacy/index.ts';
import { releasePsiCount } from '../release/psi-count-release.ts';
import type { PsiCountRelease, PsiParty, PsiSessionView } from '../psi/psi-session.ts';
import type { PsiSessionRegistry } from '../psi/session-registry.ts';
import { PsiWorkerPool } from '../psi/worker-pool.ts';

/** The buffers that can move to a worker: only those a view spans whole (never Node's shared pool). */
function ownedBuffers(...views: readonly Uint8Array[]): ArrayBuffer[] {
  return views
    .filter((v) => v.byteOffset === 0 && v.buffer instanceof ArrayBuffer && v.byteLength === v.buffer.byteLength)
    .map((v) => v.buffer as ArrayBuffer);
}

/** What the room's count of a session came to. */
export type PsiCountOutcome =
  | { readonly view: PsiSessionView; readonly result: PsiCountRelease; readonly trueCount: number }
  | { readonly view: PsiSessionView; readonly violators: readonly PsiParty[] };

/**
 * The room's side of a room-counted session once both keys are in: in a worker thread, check the
 * sampled positions of both doubly-blinded sets (PSI_VERIFY_SAMPLES) against the revealed keys, count the distinct
 * common values, then release the count with discrete Laplace noise. The keys are zeroed in the
 * worker and with the session's messages. `trueCount` is for the caller's audit-free tests only;
 * the relay never returns or records it.
 */
export class PsiRoomCounter {
  #pool: PsiWorkerPool | undefined;

  async count(
    registry: PsiSessionRegistry,
    id: string,
    member: string,
    random: RandomSource,
  ): Promise<PsiCountOutcome> {
    const inputs = registry.countInputs(id, member);
    this.#pool ??= new PsiWorkerPool({ size: 1, engine: 'native' });
    let outcome: { violators: PsiParty[]; common: number };
    try {
      // The two answers move to the worker rather than being copied (at 10M elements each is 320 MB);
      // the session drops them when the count completes either way.
      outcome = await this.#pool.run('native-verify-count', inputs, ownedBuffers(inputs.response, inputs.final));
    } catch (error) {
      // The room failed, not a member: the session ends with no one named, and nothing is released.
      registry.completeCount(id, member, { violators: [] });
      throw error;
    } finally {
      inputs.serverKey.fill(0);
      inputs.clientKey.fill(0);
    }
    if (outcome.violators.length > 0) {
      return {
        view: registry.completeCount(id, member, { violators: outcome.violators }),
        violators: outcome.violators,
      };
    }
    const view = registry.view(id, member);
    const largest = Math.min(view.serverSetSize ?? 0, view.clientSetSize ?? 0);
    const rule = registry.rule(id, member);
    const result = releasePsiCount(outcome.common, largest, rule.epsilon, random);
    return { view: registry.completeCount(id, member, { result }), result, trueCount: outcome.common };
  }

  async close(): Promise<void> {
    await this.#pool?.close();
    this.#pool = undefined;
  }
}
