import { describe, expect, it } from 'vitest';
import { encodeRequestMessage, encodeResponseMessage, encodeSetupMessage } from '../../src/psi/psi-messages.ts';
import { sortPacked } from '../../src/psi/packed-elements.ts';
import { parsePsiRule } from '../../src/psi/psi-rules.ts';
import { PsiSessionRegistry } from '../../src/psi/session-registry.ts';
import { expectRefusal, fakePoints } from './helpers.ts';

const rule = parsePsiRule({
  server: 'acme',
  client: 'globex',
  minSetSize: 10,
  maxSessionsPerDay: 2,
  sessionTtlSeconds: 60,
  normalisation: 'email',
  exactCount: true,
});

function registry(start = Date.UTC(2025, 0, 1, 12)) {
  const clock = { now: start };
  return { clock, sessions: new PsiSessionRegistry({ clock: () => clock.now }) };
}

const setup = (n: number) => encodeSetupMessage(sortPacked([fakePoints(n)]));

describe('PSI session relay', () => {
  it('runs the steps in order, recording set sizes proved by the messages', () => {
    const { sessions } = registry();
    const { id } = sessions.open('c1', rule, 'globex', 'client');
    sessions.postSetup(id, 'acme', setup(12));
    expect(sessions.readSetup(id, 'globex').length).toBeGreaterThan(12 * 33);
    const request = [fakePoints(11)];
    expect(sessions.postRequest(id, 'globex', encodeRequestMessage(false, request))).toMatchObject({
      state: 'request-posted',
      serverSetSize: 12,
      clientSetSize: 11,
    });
    sessions.readRequest(id, 'acme');
    sessions.postResponse(id, 'acme', encodeResponseMessage([sortPacked(request)]));
    sessions.readResponse(id, 'globex');
    expect(sessions.view(id, 'acme').state).toBe('done');
  });

  it('refuses the wrong member, the wrong step and strangers', async () => {
    const { sessions } = registry();
    const { id } = sessions.open('c1', rule, 'acme', 'client');
    await expectRefusal(() => sessions.postSetup(id, 'globex', setup(12)), 'PSI_WRONG_ROLE', 403);
    await expectRefusal(
      () => sessions.postRequest(id, 'globex', encodeRequestMessage(false, [fakePoints(11)])),
      'PSI_WRONG_STEP',
      409,
    );
    await expectRefusal(() => sessions.readSetup(id, 'globex'), 'PSI_WRONG_STEP', 409);
    await expectRefusal(() => sessions.view(id, 'initech'), 'PSI_SESSION_NOT_FOUND', 404);
    await expectRefusal(() => sessions.open('c1', rule, 'initech', 'client'), 'PSI_NOT_A_PARTY', 403);
    sessions.postSetup(id, 'acme', setup(12));
    await expectRefusal(() => sessions.postSetup(id, 'acme', setup(12)), 'PSI_WRONG_STEP', 409);
  });

  it('enforces the minimum set size on both sides from the messages, and the reveal flag', async () => {
    const { sessions } = registry();
    const { id } = sessions.open('c1', rule, 'acme', 'client');
    await expectRefusal(() => sessions.postSetup(id, 'acme', setup(9)), 'PSI_SET_TOO_SMALL', 422);
    await expectRefusal(() => sessions.postSetup(id, 'acme', setup(1)), 'PSI_SET_TOO_SMALL', 422);
    sessions.postSetup(id, 'acme', setup(10));
    await expectRefusal(
      () => sessions.postRequest(id, 'globex', encodeRequestMessage(false, [fakePoints(1)])),
      'PSI_SET_TOO_SMALL',
      422,
    );
    await expectRefusal(
      () => sessions.postRequest(id, 'globex', encodeRequestMessage(true, [fakePoints(20)])),
      'PSI_REVEAL_MISMATCH',
      422,
    );
    await expectRefusal(
      () => sessions.postRequest(id, 'globex', new Uint8Array([1, 2, 0, 0])),
      'PSI_MALFORMED_MESSAGE',
      400,
    );
  });

  it('refuses a response that does not answer the request', async () => {
    const { sessions } = registry();
    const { id } = sessions.open('c1', rule, 'acme', 'client');
    sessions.postSetup(id, 'acme', setup(10));
    sessions.postRequest(id, 'globex', encodeRequestMessage(false, [fakePoints(10)]));
    await expectRefusal(
      () => sessions.postResponse(id, 'acme', encodeResponseMessage([sortPacked([fakePoints(9)])])),
      'PSI_MALFORMED_MESSAGE',
      400,
    );
  });

  it('expires sessions and sweeps them away', async () => {
    const { sessions, clock } = registry();
    const { id } = sessions.open('c1', rule, 'acme', 'client');
    clock.now += 60_000;
    expect(sessions.view(id, 'acme').state).toBe('expired');
    await expectRefusal(() => sessions.postSetup(id, 'acme', setup(12)), 'PSI_SESSION_EXPIRED', 409);
    expect(sessions.sweep()).toBe(1);
    await expectRefusal(() => sessions.view(id, 'acme'), 'PSI_SESSION_NOT_FOUND', 404);
  });

  it('keeps a created session out of reach until it is added', async () => {
    const { sessions } = registry();
    const session = sessions.create('c1', rule, 'acme', 'client');
    await expectRefusal(() => sessions.view(session.id, 'acme'), 'PSI_SESSION_NOT_FOUND', 404);
    expect(sessions.add(session)).toMatchObject({ id: session.id, state: 'opened' });
    expect(sessions.view(session.id, 'globex').state).toBe('opened');
  });
});
