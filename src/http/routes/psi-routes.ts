import { Router } from 'express';
import type { PsiMessageKind } from '../../room/psi-relay.ts';
import type { Room } from '../../room/room.ts';
import { compileValidator } from '../../validation/json-validator.ts';
import { declaredLength, readSignedBytes, refuseUnreadBody, signedJsonBody } from '../signed-request.ts';

export const openBody = compileValidator<{ partner: string; count?: 'room' | 'client' }>({
  type: 'object',
  additionalProperties: false,
  required: ['partner'],
  properties: {
    partner: { type: 'string', pattern: '^[a-z][a-z0-9-]{0,62}$' },
    // Size-only rules: 'room' (default) has the room count with noise; 'client' asks for the exact
    // count, which the rule must allow (exactCount).
    count: { enum: ['room', 'client'] },
  },
});

const KINDS: readonly PsiMessageKind[] = ['setup', 'request', 'response', 'final', 'key'];
/** The messages a member reads back (final and key go to the room only). */
const READABLE = ['setup', 'request', 'response'] as const;

/** PSI sessions between two members, relayed by the room; it never sees a key or an identifier. */
export function psiRoutes(room: Room): Router {
  const router = Router();
  const who = (id: string, key: string) => {
    const collaboration = room.collaboration(id);
    return { collaboration, principal: room.principal(collaboration.id, key) };
  };
  router.post('/v1/collaborations/:id/psi', ...signedJsonBody(room, openBody), async (req, res) => {
    const { collaboration, principal } = who(req.params.id as string, res.locals.callerKey);
    const body = res.locals.body as { partner: string; count?: 'room' | 'client' };
    res.status(201).json(await room.openPsi(collaboration, principal, body.partner, body.count ?? 'room'));
  });
  router.get('/v1/collaborations/:id/psi', ...signedJsonBody(room), (req, res) => {
    const { collaboration, principal } = who(req.params.id as string, res.locals.callerKey);
    res.json({ sessions: room.listPsiSessions(collaboration, principal) });
  });
  router.delete('/v1/collaborations/:id/psi/:session', ...signedJsonBody(room), async (req, res) => {
    const { collaboration, principal } = who(req.params.id as string, res.locals.callerKey);
    res.json(await room.cancelPsiSession(collaboration, principal, req.params.session as string));
  });
  router.get('/v1/collaborations/:id/psi/:session', ...signedJsonBody(room), (req, res) => {
    const { collaboration, principal } = who(req.params.id as string, res.locals.callerKey);
    res.json(room.psiSession(collaboration, principal, req.params.session as string));
  });
  for (const kind of KINDS) {
    // A message can be ~80 MB: caller, session, step, size and the room's byte budget are all
    // checked before the body is read, and the reservation is held until the message is handled.
    router.put(
      `/v1/collaborations/:id/psi/:session/${kind}`,
      refuseUnreadBody(async (req, res) => {
        const { collaboration, principal } = who(req.params.id as string, res.locals.callerKey);
        const session = req.params.session as string;
        const reservation = room.admitPsiMessage(collaboration, principal, session, kind, declaredLength(req));
        try {
          const bytes = await readSignedBytes(req, res.locals.contentSha256, reservation.limit);
          res.json(await room.postPsiMessage(collaboration, principal, session, kind, bytes));
        } finally {
          reservation.release();
        }
      }),
    );
  }
  router.get('/v1/collaborations/:id/psi/:session/result', ...signedJsonBody(room), (req, res) => {
    const { collaboration, principal } = who(req.params.id as string, res.locals.callerKey);
    res.json(room.readPsiResult(collaboration, principal, req.params.session as string));
  });
  for (const kind of READABLE) {
    router.get(`/v1/collaborations/:id/psi/:session/${kind}`, ...signedJsonBody(room), (req, res) => {
      const { collaboration, principal } = who(req.params.id as string, res.locals.callerKey);
      const bytes = room.readPsiMessage(collaboration, principal, req.params.session as string, kind);
      // A view, not a copy: a native message can be 320 MB.
      res.type('application/octet-stream').send(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    });
  }
  return router;
}
