import type { PsiClientTransport } from './psi-client-party.ts';
import type { PsiServerTransport } from './psi-server-party.ts';
import type { NativeClientTransport, NativeOutcome, NativeServerTransport } from './native-parties.ts';
import type { PsiSessionState, PsiSessionView } from './psi-session.ts';
import type { PsiSessionRegistry } from './session-registry.ts';

/** A one-shot mailbox: the first `put` settles every `take`, earlier or later. */
class Mailbox {
  readonly #value: Promise<Uint8Array>;
  #resolve: (bytes: Uint8Array) => void = () => undefined;

  constructor() {
    this.#value = new Promise((resolve) => {
      this.#resolve = resolve;
    });
  }

  put(bytes: Uint8Array): void {
    this.#resolve(bytes);
  }

  take(): Promise<Uint8Array> {
    return this.#value;
  }
}

export interface PsiChannel {
  readonly server: PsiServerTransport;
  readonly client: PsiClientTransport;
}

/**
 * Both members' transports over memory, for tests and the benchmark. `relay` sees every message
 * on its way (the room's validation in tests); it may throw to refuse it, or transform it.
 */
export function inMemoryPsiChannel(
  relay: (kind: 'setup' | 'request' | 'response', bytes: Uint8Array) => Uint8Array = (_kind, bytes) => bytes,
): PsiChannel {
  const setup = new Mailbox();
  const request = new Mailbox();
  const response = new Mailbox();
  return {
    server: {
      postSetup: async (bytes) => setup.put(relay('setup', bytes)),
      awaitRequest: () => request.take(),
      postResponse: async (bytes) => response.put(relay('response', bytes)),
    },
    client: {
      awaitSetup: () => setup.take(),
      postRequest: async (bytes) => request.put(relay('request', bytes)),
      awaitResponse: () => response.take(),
    },
  };
}

/**
 * Both members' transports for a room-counted session over an in-memory registry, for tests and
 * the benchmark: every message goes through the registry's checks, and `count` runs the room's
 * count when the second key arrives. Waiting is polling, as over HTTP.
 */
export function inMemoryNativeChannel(
  registry: PsiSessionRegistry,
  id: string,
  members: { readonly server: string; readonly client: string },
  count: () => Promise<void>,
): { server: NativeServerTransport; client: NativeClientTransport } {
  const { server, client } = members;
  const waitFor = async <T>(member: string, ready: (view: PsiSessionView) => T | undefined): Promise<T> => {
    for (;;) {
      const view = registry.view(id, member);
      const value = ready(view);
      if (value !== undefined) return value;
      if (view.state === 'expired') throw new Error('session expired');
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  };
  const after = (states: readonly PsiSessionState[]) => (view: PsiSessionView) =>
    states.includes(view.state) ? true : undefined;
  const sides = (member: string) => ({
    awaitSealed: () => waitFor(member, after(['sealed', 'counting', 'released', 'violated'])).then(() => undefined),
    postKey: async (key: Uint8Array) => {
      if (registry.postKey(id, member, key).state === 'counting') await count();
    },
    awaitOutcome: () =>
      waitFor(member, (view): NativeOutcome | undefined => {
        if (view.state !== 'released' && view.state !== 'violated') return undefined;
        const release = view.state === 'released' && registry.rule(id, member).releaseTo.includes(member);
        return {
          state: view.state,
          serverSetSize: view.serverSetSize ?? 0,
          clientSetSize: view.clientSetSize ?? 0,
          ...(release ? { release: registry.readResult(id, member) } : {}),
          ...(view.violators ? { violators: view.violators } : {}),
        };
      }),
  });
  // Every message is copied across the relay, as the wire would: the parties multiply and shuffle
  // their buffers in place, which must never reach what the room holds.
  const wire = (bytes: Uint8Array) => Uint8Array.from(bytes);
  return {
    server: {
      ...sides(server),
      postSetup: async (bytes) => void registry.postSetup(id, server, wire(bytes)),
      awaitRequest: () => waitFor(server, after(['request-posted'])).then(() => wire(registry.readRequest(id, server))),
      postResponse: async (bytes) => void registry.postResponse(id, server, wire(bytes)),
    },
    client: {
      ...sides(client),
      awaitSetup: () =>
        waitFor(client, after(['setup-posted', 'request-posted', 'sealed'])).then(() =>
          wire(registry.readSetup(id, client)),
        ),
      postRequest: async (bytes) => void registry.postRequest(id, client, wire(bytes)),
      postFinal: async (bytes) => void registry.postFinal(id, client, wire(bytes)),
    },
  };
}
