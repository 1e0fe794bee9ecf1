import { request as httpRequest, type ClientRequest, type IncomingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signRequest } from '../../src/auth/request-signature.ts';
import { sha256Hex } from '../../src/crypto/hashing.ts';
import { sortPacked } from '../../src/psi/packed-elements.ts';
import { encodeSetupMessage } from '../../src/psi/psi-messages.ts';
import { fakePoints } from '../psi/helpers.ts';
import { startTestRoom, type TestRoom } from '../support/test-room.ts';

let t: TestRoom;
const path = '/v1/collaborations/demo/psi';
/** A small room-wide budget, so the tests can fill it with a few MB. */
const BUDGET = 3_000_000;

beforeAll(async () => {
  t = await startTestRoom({ config: { psiBodyBudgetBytes: BUDGET } });
  await t.acceptAll();
});
afterAll(async () => t.close());

interface Answer {
  status: number;
  code: string;
  headers: IncomingHttpHeaders;
}
interface Upload {
  answer: Promise<Answer>;
  request: ClientRequest;
  sent(): number;
}

/**
 * A signed PUT written by hand: it may declare a length (else chunked) and then write `send`
 * filler bytes (ending the body only once it is all sent), or write `body`. Writing stops as soon
 * as the room answers, as a client seeing a refusal would.
 */
function put(
  principal: string,
  target: string,
  options: { declared?: number; send?: number; body?: Uint8Array },
): Upload {
  const body = options.body;
  const headers: Record<string, string | number> = {
    ...signRequest(t.keys[principal]!, 'PUT', target, sha256Hex(body ?? new Uint8Array(0))),
    'content-type': 'application/octet-stream',
  };
  const declared = body ? body.length : options.declared;
  if (declared !== undefined) headers['content-length'] = declared;
  const request = httpRequest(`${t.baseUrl}${target}`, { method: 'PUT', headers });
  let answered = false;
  let sent = 0;
  const answer = new Promise<Answer>((resolve, reject) => {
    request.once('response', (res) => {
      answered = true;
      let text = '';
      res.on('data', (d: Buffer) => {
        text += d.toString();
      });
      res.on('end', () => {
        const parsed = JSON.parse(text || '{}') as { error?: { code: string } };
        resolve({ status: res.statusCode ?? 0, code: parsed.error?.code ?? 'OK', headers: res.headers });
      });
    });
    request.on('error', (error) => {
      if (!answered) reject(error);
    });
  });
  // A request the test abandons on purpose never gets an answer; only awaited answers matter.
  answer.catch(() => undefined);
  if (body) request.end(body);
  else {
    const total = options.send ?? 0;
    const filler = Buffer.alloc(64 * 1024, 7);
    const pump = () => {
      while (!answered && !request.destroyed && sent < total) {
        const n = Math.min(filler.length, total - sent);
        sent += n;
        if (!request.write(filler.subarray(0, n))) return void request.once('drain', pump);
      }
      if (!answered && !request.destroyed && (declared === undefined || sent >= declared)) request.end();
    };
    request.flushHeaders();
    pump();
  }
  return { answer, request, sent: () => sent };
}

/** The room must answer without the body: a room waiting for it never answers these. */
async function within<T>(promise: Promise<T>, ms = 5_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms: the room is waiting for the body`)), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  if (!condition()) throw new Error(`timed out waiting for ${what}`);
}

const openSession = async () =>
  (await t.client('northwind-provider').send<{ id: string }>('POST', path, { partner: 'acme', count: 'client' })).id;

describe('the PSI relay decides before it reads a message body', () => {
  it('refuses the caller, session, sender, step and declared size with the body never sent', async () => {
    const session = await openSession();
    const cases: [string, string, number, string][] = [
      ['acme-officer', `${path}/${session}/setup`, 403, 'ROLE_REQUIRED'],
      ['northwind-provider', `${path}/no-such-session/setup`, 404, 'PSI_SESSION_NOT_FOUND'],
      ['northwind-provider', '/v1/collaborations/nope/psi/no-such-session/setup', 404, 'COLLABORATION_NOT_FOUND'],
      ['acme-analyst', `${path}/${session}/setup`, 403, 'PSI_WRONG_ROLE'],
      ['northwind-provider', `${path}/${session}/response`, 409, 'PSI_WRONG_STEP'],
      ['northwind-provider', `${path}/${session}/setup`, 413, 'PSI_MESSAGE_TOO_LARGE'],
    ];
    for (const [principal, target, status, code] of cases) {
      const upload = put(principal, target, { declared: code === 'PSI_MESSAGE_TOO_LARGE' ? BUDGET + 1 : 50_000_000 });
      const answer = await within(upload.answer);
      upload.request.destroy();
      expect({ principal, target, status: answer.status, code: answer.code }).toEqual({
        principal,
        target,
        status,
        code,
      });
      expect(answer.headers.connection).toBe('close');
    }
    expect(t.internals.psiUploads.reservedBytes).toBe(0);
  });

  it('16 concurrent 40 MB uploads to an unknown session are answered unread, neither read nor buffered', async () => {
    const sockets: Socket[] = [];
    let answers: Answer[] = [];
    const track = (socket: Socket) => void sockets.push(socket);
    t.server.on('connection', track);
    const before = process.memoryUsage().arrayBuffers;
    let peak = before;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().arrayBuffers);
    }, 5);
    try {
      const uploads = Array.from({ length: 16 }, () =>
        put('northwind-provider', `${path}/no-such-session/setup`, { declared: 40_000_000, send: 40_000_000 }),
      );
      answers = await within(Promise.all(uploads.map((u) => u.answer)), 20_000);
      for (const u of uploads) u.request.destroy();
    } finally {
      clearInterval(sampler);
      t.server.off('connection', track);
    }
    await until(() => sockets.every((s) => s.destroyed), 'the refused connections to close');
    // Headers, plus what the socket took in before Node paused it and closed it: about 0.2 MB per
    // request here (40 MB each before the fix: 640 MB read, buffers grown by 471 MB).
    const read = sockets.reduce((sum, s) => sum + s.bytesRead, 0);
    expect(sockets.length).toBe(16);
    expect(read).toBeLessThan(32 * 1024 * 1024);
    expect(peak - before).toBeLessThan(64 * 1024 * 1024);
    expect(answers.map((a) => `${a.status} ${a.code}`)).toEqual(Array(16).fill('404 PSI_SESSION_NOT_FOUND'));
  }, 60_000);

  it('one message per session, a room-wide byte budget: over either, it refuses unread with a retry hint', async () => {
    const [a, b] = [await openSession(), await openSession()];
    const held = put('northwind-provider', `${path}/${a}/setup`, { declared: 2_000_000, send: 100_000 });
    await until(() => t.internals.psiUploads.reservedBytes === 2_000_000, 'the first upload to be admitted');

    const again = put('northwind-provider', `${path}/${a}/setup`, { declared: 10 });
    expect(await within(again.answer)).toMatchObject({
      status: 429,
      code: 'PSI_UPLOAD_IN_FLIGHT',
      headers: { 'retry-after': '1' },
    });
    const busy = put('northwind-provider', `${path}/${b}/setup`, { declared: 2_000_000 });
    expect(await within(busy.answer)).toMatchObject({
      status: 503,
      code: 'PSI_RELAY_BUSY',
      headers: { 'retry-after': '5' },
    });
    again.request.destroy();
    busy.request.destroy();

    // What fits in the budget is read (and checked: this is no PSI message).
    const fits = put('northwind-provider', `${path}/${b}/setup`, { body: new Uint8Array(500_000).fill(9) });
    expect(await within(fits.answer)).toMatchObject({ status: 400, code: 'PSI_MALFORMED_MESSAGE' });

    // A sender that goes away mid-body gives its bytes back.
    held.request.destroy();
    await until(() => t.internals.psiUploads.reservedBytes === 0, 'the abandoned upload to be released');

    // A chunked body reserves the largest message and is cut off past it.
    const chunked = put('northwind-provider', `${path}/${b}/setup`, { send: BUDGET + 1_000_000 });
    expect(await within(chunked.answer)).toMatchObject({
      status: 413,
      code: 'BODY_TOO_LARGE',
      headers: { connection: 'close' },
    });
    chunked.request.destroy();
    await until(() => t.internals.psiUploads.reservedBytes === 0, 'the refused chunked upload to be released');

    // Neither session was harmed: a real setup is taken.
    const setup = encodeSetupMessage(sortPacked([fakePoints(1000)]));
    expect(await within(put('northwind-provider', `${path}/${a}/setup`, { body: setup }).answer)).toMatchObject({
      status: 200,
    });
    expect(t.internals.psiUploads.reservedBytes).toBe(0);
  }, 30_000);
});
