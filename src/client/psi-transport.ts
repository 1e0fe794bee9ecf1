import type { PsiClientTransport } from '../psi/psi-client-party.ts';
import type { PsiServerTransport } from '../psi/psi-server-party.ts';
import type { PsiSessionAnswer } from '../room/psi-relay.ts';
import type { RoomClient } from './room-client.ts';

const ORDER = ['opened', 'setup-posted', 'request-posted', 'response-posted', 'done'] as const;

/**
 * One member's side of a PSI session over the room's HTTP relay. Waiting for the other side is
 * polling the session (with backoff) until it reaches the needed step or expires.
 */
export function httpPsiTransport(client: RoomClient, collaboration: string, session: string): PsiServerTransport & PsiClientTransport {
  const base = `/v1/collaborations/${collaboration}/psi/${session}`;
  const waitFor = async (state: (typeof ORDER)[number]): Promise<void> => {
    let delay = 100;
    for (;;) {
      const view = await client.send<PsiSessionAnswer>('GET', base);
      if (view.state === 'expired') throw new Error(`PSI session ${session} expired before the other member answered.`);
      if (ORDER.indexOf(view.state as (typeof ORDER)[number]) >= ORDER.indexOf(state)) return;
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(1000, delay * 2);
    }
  };
  const put = async (kind: string, bytes: Uint8Array) => void (await client.sendBytes('PUT', `${base}/${kind}`, bytes));
  const get = (kind: string) => client.sendBytes('GET', `${base}/${kind}`);
  return {
    postSetup: (bytes) => put('setup', bytes),
    awaitRequest: async () => (await waitFor('request-posted'), get('request')),
    postResponse: (bytes) => put('response', bytes),
    awaitSetup: async () => (await waitFor('setup-posted'), get('setup')),
    postRequest: (bytes) => put('request', bytes),
    awaitResponse: async () => (await waitFor('response-posted'), get('response')),
  };
}
