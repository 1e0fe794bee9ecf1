import type { PsiClientTransport } from './psi-client-party.ts';
import type { PsiServerTransport } from './psi-server-party.ts';

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
