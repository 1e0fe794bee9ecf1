import { Router } from 'express';
import { AUDIT_QUERY_SCHEMA, impossibleMoments, selectAuditEntries, type AuditQuery } from '../../audit/audit-query.ts';
import { diagnostic } from '../../errors/diagnostic.ts';
import { documentRefused } from '../../errors/refused-error.ts';
import { compileValidator } from '../../validation/json-validator.ts';
import type { Room } from '../../room/room.ts';
import { signedJsonBody } from '../signed-request.ts';

export const acceptanceBody = compileValidator<{ policyHash: string; signature: string }>({
  type: 'object',
  additionalProperties: false,
  required: ['policyHash', 'signature'],
  properties: {
    policyHash: { type: 'string', pattern: '^[0-9a-f]{64}$' },
    signature: { type: 'string', maxLength: 200 },
  },
});

export const auditQuery = compileValidator<Record<string, string>>(AUDIT_QUERY_SCHEMA);

/** The audit route's query string, checked: undefined when there is none (the whole chain, in order). */
function readAuditQuery(query: unknown): AuditQuery | undefined {
  const raw = (query ?? {}) as Record<string, unknown>;
  if (Object.keys(raw).length === 0) return undefined;
  const checked = auditQuery(raw);
  if (!checked.ok) throw documentRefused('INVALID_QUERY_STRING', 'The audit query is invalid:', checked.diagnostics);
  const impossible = impossibleMoments(checked.value);
  if (impossible.length > 0)
    throw documentRefused(
      'INVALID_QUERY_STRING',
      'The audit query is invalid:',
      impossible.map((name) =>
        diagnostic('INVALID_VALUE', `${name} is not a real UTC date or time`, 'audit query', { pointer: `/${name}` }),
      ),
    );
  const { offset, limit, ...filters } = checked.value;
  return {
    ...filters,
    ...(offset !== undefined ? { offset: Number(offset) } : {}),
    ...(limit !== undefined ? { limit: Number(limit) } : {}),
  };
}

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
  router.get('/v1/collaborations/:id/policy/changes', ...signedJsonBody(room), async (req, res) => {
    const collaboration = room.collaboration(req.params.id as string);
    const caller = room.principal(collaboration.id, res.locals.callerKey);
    res.json(await room.policyChangesSinceAcceptance(collaboration, caller.memberId));
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
    const query = readAuditQuery(req.query);
    const chain = await room.auditTrail(collaboration);
    // With a query: one page, newest first, and the count that matched; without: the whole chain in order.
    res.json(
      query
        ? { collaboration: collaboration.id, ...selectAuditEntries(chain, query) }
        : { collaboration: collaboration.id, entries: chain, total: chain.length },
    );
  });
  return router;
}
