import { Router } from 'express';
import { compileValidator } from '../../validation/json-validator.ts';
import type { QueryRequest } from '../../room/run-query.ts';
import type { TemplateReviewRequest } from '../../room/template-registry.ts';
import type { Room } from '../../room/room.ts';
import { signedJsonBody } from '../signed-request.ts';

export const queryBody = compileValidator<QueryRequest>({
  type: 'object',
  additionalProperties: false,
  properties: {
    sql: { type: 'string', minLength: 1, maxLength: 20000 },
    template: { type: 'string', pattern: '^[a-z][a-z0-9_]{0,62}$' },
    params: { type: 'object', maxProperties: 50 },
    dryRun: { type: 'boolean' },
    dp: {
      type: 'object',
      additionalProperties: false,
      required: ['epsilon'],
      properties: {
        epsilon: { type: 'number', exclusiveMinimum: 0 },
        delta: { type: 'number', minimum: 0, exclusiveMaximum: 1 },
      },
    },
  },
});

export const dryRunBody = compileValidator<{ params?: Record<string, unknown> }>({
  type: 'object',
  additionalProperties: false,
  properties: { params: { type: 'object', maxProperties: 50 } },
});

export const reviewBody = compileValidator<TemplateReviewRequest>({
  type: 'object',
  additionalProperties: false,
  required: ['hash', 'decision', 'signature'],
  properties: {
    hash: { type: 'string', pattern: '^[0-9a-f]{64}$' },
    decision: { enum: ['approve', 'reject'] },
    reason: { type: 'string', maxLength: 2000 },
    signature: { type: 'string', maxLength: 200 },
  },
});

/** Templates (propose, review, approve/reject) and query runs, ad hoc or from a template. */
export function queryRoutes(room: Room): Router {
  const router = Router();
  const collaborationAndCaller = (id: string, key: string) => {
    const collaboration = room.collaboration(id);
    return { collaboration, caller: room.principal(collaboration.id, key) };
  };
  router.get('/v1/collaborations/:id/templates', ...signedJsonBody(room), async (req, res) => {
    const { collaboration } = collaborationAndCaller(req.params.id as string, res.locals.callerKey);
    res.json({ templates: await room.listTemplates(collaboration) });
  });
  router.post('/v1/collaborations/:id/templates', ...signedJsonBody(room), async (req, res) => {
    const { collaboration, caller } = collaborationAndCaller(req.params.id as string, res.locals.callerKey);
    res.status(201).json(await room.proposeTemplate(collaboration, caller, res.locals.body));
  });
  router.get('/v1/collaborations/:id/templates/:name', ...signedJsonBody(room), async (req, res) => {
    const { collaboration } = collaborationAndCaller(req.params.id as string, res.locals.callerKey);
    res.json(await room.templateStatus(collaboration, req.params.name as string));
  });
  router.post(
    '/v1/collaborations/:id/templates/:name/approvals',
    ...signedJsonBody(room, reviewBody),
    async (req, res) => {
      const { collaboration, caller } = collaborationAndCaller(req.params.id as string, res.locals.callerKey);
      res
        .status(201)
        .json(
          await room.reviewTemplate(
            collaboration,
            caller,
            req.params.name as string,
            res.locals.body as TemplateReviewRequest,
          ),
        );
    },
  );
  // A dry run on synthetic rows of the declared columns: what a reviewer sees before signing.
  router.post(
    '/v1/collaborations/:id/templates/:name/dry-run',
    ...signedJsonBody(room, dryRunBody),
    async (req, res) => {
      const { collaboration, caller } = collaborationAndCaller(req.params.id as string, res.locals.callerKey);
      const { params } = res.locals.body as { params?: Record<string, unknown> };
      res.json(await room.syntheticDryRun(collaboration, caller, req.params.name as string, params));
    },
  );
  router.get('/v1/collaborations/:id/budget', ...signedJsonBody(room), async (req, res) => {
    const { collaboration, caller } = collaborationAndCaller(req.params.id as string, res.locals.callerKey);
    res.json({ member: caller.memberId, budgets: await room.budgetReport(collaboration, caller.memberId) });
  });
  // A data owner's view: every member's spending on the owner's datasets (any principal of the owner).
  router.get('/v1/collaborations/:id/budget/spending', ...signedJsonBody(room), async (req, res) => {
    const { collaboration, caller } = collaborationAndCaller(req.params.id as string, res.locals.callerKey);
    res.json({
      member: caller.memberId,
      datasets: await room.spendingOnOwnedDatasets(collaboration, caller.memberId),
    });
  });
  router.post('/v1/collaborations/:id/queries', ...signedJsonBody(room, queryBody), async (req, res) => {
    const { collaboration, caller } = collaborationAndCaller(req.params.id as string, res.locals.callerKey);
    res.json(await room.runQuery(collaboration, caller, res.locals.body as QueryRequest));
  });
  return router;
}
