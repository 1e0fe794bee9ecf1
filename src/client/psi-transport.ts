import type { PsiClientTransport } from '../psi/psi-client-party.ts';
import type { PsiServerTransport } from '../psi/psi-server-party.ts';
import type { NativeClientTransport, NativeOutcome, NativeServerTransport } from '../psi/native-parties.ts';
import type { PsiResultAnswer, PsiSessionAnswer } from '../room/psi-relay.ts';
import { RoomRequestError, type RoomClient } from './room-client.ts';

const ORDER = ['opened', 'setup-posted', 'request-posted', 'response-posted', 'done'] as const;
/** How often a message is offered to a room that is busy receiving other members' messages. */
const BUSY_ATTEMPTS = 30;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Refusals of an unread body that pass: the room's byte budget, or the session's one message in flight. */
const WAIT_AND_RETRY = new Set(['PSI_RELAY_BUSY', 'PSI_UPLOAD_IN_FLIGHT']);

/**
 * Posts a message, waiting as the room asks while its budget of PSI bytes being received is spent
 * by other sessions (503 PSI_RELAY_BUSY) or the session has another message in flight (429
 * PSI_UPLOAD_IN_FLIGHT: in a room-counted session the response and the final, and the two keys,
 * may be posted at once, and the other member could hold its upload open), both refused before
 * any byte was read.
 */
async function putWhenRoom(client: Pick<RoomClient, 'sendBytes'>, path: string, bytes: Uint8Array): Promise<void> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      await client.sendBytes('PUT', path, bytes);
      return;
    } catch (error) {
      if (!(error instanceof RoomRequestError) || !WAIT_AND_RETRY.has(error.code) || attempt >= BUSY_ATTEMPTS)
        throw error;
      const wait = Number(error.details['retryAfterSeconds']);
      await sleep(1000 * (Number.isFinite(wait) && wait >= 0 ? Math.min(wait, 30) : 5));
    }
  }
}

/**
 * Polls a session (backing off from 100 ms to `maxDelayMs`) until its state is `ready`; refuses
 * once it has expired.
 */
async function pollSession(
  client: RoomClient,
  base: string,
  session: string,
  ready: (state: string) => boolean,
  maxDelayMs: number,
): Promise<PsiSessionAnswer> {
  let delay = 100;
  for (;;) {
    const view = await client.send<PsiSessionAnswer>('GET', base);
    if (ready(view.state)) return view;
    if (view.state === 'expired') throw new Error(`PSI session ${session} expired before the other member answered.`);
    await sleep(delay);
    delay = Math.min(maxDelayMs, delay * 2);
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
  const waitFor = (state: (typeof ORDER)[number]): Promise<PsiSessionAnswer> =>
    pollSession(
      client,
      base,
      session,
      (current) => ORDER.indexOf(current as (typeof ORDER)[number]) >= ORDER.indexOf(state),
      1000,
    );
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

const SEALED: readonly string[] = ['sealed', 'counting', 'released', 'violated'];

/**
 * One member's side of a room-counted (native engine) session over the room's HTTP relay: the
 * final messages and the key go to the room, and the outcome is read from the session (and, for a
 * member the rule releases to, from its result).
 */
export function httpNativeTransport(
  client: RoomClient,
  collaboration: string,
  session: string,
  member: { readonly releasedToMe: boolean },
): NativeServerTransport & NativeClientTransport {
  const base = `/v1/collaborations/${collaboration}/psi/${session}`;
  // A room-counted session's steps are seconds apart at most; poll at 250 ms, not 1 s.
  const waitFor = (ready: (state: string) => boolean) => pollSession(client, base, session, ready, 250);
  const put = (kind: string, bytes: Uint8Array) => putWhenRoom(client, `${base}/${kind}`, bytes);
  const get = (kind: string) => client.sendBytes('GET', `${base}/${kind}`);
  return {
    postSetup: (bytes) => put('setup', bytes),
    awaitRequest: async () => (await waitFor((s) => s === 'request-posted' || SEALED.includes(s)), get('request')),
    postResponse: (bytes) => put('response', bytes),
    awaitSetup: async () => (await waitFor((s) => s !== 'opened' && s !== 'expired'), get('setup')),
    postRequest: (bytes) => put('request', bytes),
    postFinal: (bytes) => put('final', bytes),
    awaitSealed: async () => void (await waitFor((s) => SEALED.includes(s))),
    postKey: (key) => put('key', key),
    awaitOutcome: async (): Promise<NativeOutcome> => {
      const view = await waitFor((s) => s === 'released' || s === 'violated');
      const sizes = { serverSetSize: view.serverSetSize ?? 0, clientSetSize: view.clientSetSize ?? 0 };
      if (view.state === 'violated') return { state: 'violated', ...sizes, violators: view.violators ?? [] };
      if (!member.releasedToMe) return { state: 'released', ...sizes };
      const release = await client.send<PsiResultAnswer>('GET', `${base}/result`);
      return { state: 'released', ...sizes, release };
    },
  };
}
