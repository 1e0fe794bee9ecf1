import express, { Router, type RequestHandler } from 'express';
import { sha256Hex } from '../../crypto/hashing.ts';
import { AuthenticationError } from '../../errors/cleanroom-error.ts';
import { maxMessageBytes } from '../../psi/psi-session.ts';
import { openPsi, postPsiMessage, psiSession, readPsiMessage, type PsiMessageKind } from '../../room/psi-relay.ts';
import type { Room } from '../../room/room.ts';
import { compileValidator } from '../../validation/json-validator.ts';
import { signedJsonBody } from '../signed-request.ts';

const openBody = compileValidator<{ partner: string }>({
  type: 'object', additionalProperties: false, required: ['partner'], properties: { partner: { type: 'string', pattern: '^[a-z][a-z0-9-]{0,62}$' } },
});

const KINDS: readonly PsiMessageKind[] = ['setup', 'request', 'response'];

/** Binary protocol messages: bounded, and checked to be the bytes the signature covers. */
function signedBinaryBody(): RequestHandler[] {
  const raw = express.raw({ type: () => true, limit: maxMessageBytes() });
  const check: RequestHandler = (req, res, next) => {
    const bytes = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    if (sha256Hex(bytes) !== res.locals.contentSha256) throw new AuthenticationError('AUTH_BODY_MISMATCH', 'The body is not the one the signature covers.');
    res.locals.body = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
    next();
  };
  return [raw, check];
}

/** PSI sessions between two members, relayed by the room; it never sees a key or an identifier. */
export function psiRoutes(room: Room): Router {
  const router = Router();
  const who = (id: string, key: string) => {
    const collaboration = room.collaboration(id);
    return { collaboration, principal: room.principal(collaboration.id, key) };
  };
  router.post('/v1/collaborations/:id/psi', ...signedJsonBody(room, openBody), async (req, res) => {
    const { collaboration, principal } = who(req.params.id as string, res.locals.callerKey);
    res.status(201).json(await openPsi(room, collaboration, principal, (res.locals.body as { partner: string }).partner));
  });
  router.get('/v1/collaborations/:id/psi/:session', ...signedJsonBody(room), (req, res) => {
    const { collaboration, principal } = who(req.params.id as string, res.locals.callerKey);
    res.json(psiSession(room, collaboration, principal, req.params.session as string));
  });
  for (const kind of KINDS) {
    router.put(`/v1/collaborations/:id/psi/:session/${kind}`, ...signedBinaryBody(), async (req, res) => {
      const { collaboration, principal } = who(req.params.id as string, res.locals.callerKey);
      res.json(await postPsiMessage(room, collaboration, principal, req.params.session as string, kind, res.locals.body as Uint8Array));
    });
    router.get(`/v1/collaborations/:id/psi/:session/${kind}`, ...signedJsonBody(room), (req, res) => {
      const { collaboration, principal } = who(req.params.id as string, res.locals.callerKey);
      res.type('application/octet-stream').send(Buffer.from(readPsiMessage(room, collaboration, principal, req.params.session as string, kind)));
    });
  }
  return router;
}
