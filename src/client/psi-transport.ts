import type { PsiClientTransport } from '../psi/psi-client-party.ts';
import type { PsiServerTransport } from '../psi/psi-server-party.ts';
import type { PsiSessionAnswer } from '../room/psi-relay.ts';
import { RoomRequestError, type RoomClient } from './room-client.ts';

const ORDER = ['opened', 'setup-posted', 'request-posted', 'response-posted', 'done'] as const;
/** How often a message is offered to a room that is busy receiving other members' messages. */
const BUSY_ATTEMPTS = 30;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Posts a message, waiting as the room asks while its budget of PSI bytes being received is
 * spent by other sessions (503 PSI_RELAY_BUSY, refused before any byte was read).
 */
async function putWhenRoom(client: RoomClient, path: string, bytes: Uint8Array): Promise<void> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      await client.sendBytes('PUT', path, bytes);
      return;
    } catch (error) {
      if (!(error instanceof RoomRequestError) || error.code !== 'PSI_RELAY_BUSY' || attempt >= BUSY_ATTEMPTS)
        throw error;
      const wait = Number(error.details['retryAfterSeconds']);
      await sleep(1000 * (Number.isFinite(wait) && wait >= 0 ? Math.min(wait, 30) : 5));
    }
  }
}

/**
 * One member's side of a PSI session over the room's HTTP relay. Waiting for the other side is
 * polling the session (with backoff) until it reaches the needed step or expires.
 */
export function httpPsiTransport(
  client: RoomClient,
  collaboration: string,
  session: string,
): PsiServerTransport & PsiClientTransport {
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
  const put = (kind: string, bytes: Uint8Array) => putWhenRoom(client, `${base}/${kind}`, bytes);
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
