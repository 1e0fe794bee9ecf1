import { Router } from 'express';
import { compileValidator } from '../../validation/json-validator.ts';
import type { Room } from '../../room/room.ts';
import { signedJsonBody } from '../signed-request.ts';

const acceptanceBody = compileValidator<{ policyHash: string; signature: string }>({
  type: 'object',
  additionalProperties: false,
  required: ['policyHash', 'signature'],
  properties: {
    policyHash: { type: 'string', pattern: '^[0-9a-f]{64}$' },
    signature: { type: 'string', maxLength: 200 },
  },
});

/** Policy, status, officer acceptances and the audit chain of one collaboration. */
export function collaborationRoutes(room: Room): Router {
  const router = Router();
  router.get('/v1/collaborations/:id', ...signedJsonBody(room), async (req, res) => {
    const collaboration = room.collaboration(req.params.id as string);
    const caller = room.principal(collaboration.id, res.locals.callerKey);
    res.json({
      caller: { principal: caller.id, member: caller.memberId, roles: [...caller.roles] },
      status: await room.collaborationStatus(collaboration),
      policy: collaboration.document,
    });
  });
  router.post('/v1/collaborations/:id/acceptances', ...signedJsonBody(room, acceptanceBody), async (req, res) => {
    const collaboration = room.collaboration(req.params.id as string);
    const officer = room.principal(collaboration.id, res.locals.callerKey);
    const { policyHash, signature } = res.locals.body as { policyHash: string; signature: string };
    res.status(201).json(await room.acceptPolicy(collaboration, officer, policyHash, signature));
  });
  router.get('/v1/collaborations/:id/audit', ...signedJsonBody(room), async (req, res) => {
    const collaboration = room.collaboration(req.params.id as string);
    room.principal(collaboration.id, res.locals.callerKey);
    res.json({ collaboration: collaboration.id, entries: await room.auditTrail(collaboration) });
  });
  return router;
}
