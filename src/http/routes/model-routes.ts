import { Router } from 'express';
import { InvalidInputError } from '../../errors/cleanroom-error.ts';
import type { Logger } from '../../log/logger.ts';
import type { TrainingProgress } from '../../room/models.ts';
import type { Room } from '../../room/room.ts';
import { answerWithProgress } from '../progress-answer.ts';
import type { TemplateReviewRequest } from '../../room/template-registry.ts';
import { compileValidator } from '../../validation/json-validator.ts';
import { signedJsonBody } from '../signed-request.ts';
import { reviewBody } from './query-routes.ts';

export const scoreBody = compileValidator<{ dataset: string }>({
  type: 'object',
  additionalProperties: false,
  required: ['dataset'],
  properties: { dataset: { type: 'string', pattern: '^[a-z][a-z0-9_]{0,62}$' } },
});

export const trainBody = compileValidator<{ template: string }>({
  type: 'object',
  additionalProperties: false,
  required: ['template'],
  properties: { template: { type: 'string', pattern: '^[a-z][a-z0-9_]{0,62}$' } },
});

/** Model templates (propose, review) and training runs, which answer the model card (progress per pass as NDJSON). */
export function modelRoutes(room: Room, log: Logger): Router {
  const router = Router();
  const collaborationAndCaller = (id: string, key: string) => {
    const collaboration = room.collaboration(id);
    return { collaboration, caller: room.principal(collaboration.id, key) };
  };
  router.get('/v1/collaborations/:id/model-templates', ...signedJsonBody(room), async (req, res) => {
    const { collaboration } = collaborationAndCaller(req.params.id as string, res.locals.callerKey);
    res.json({ templates: await room.listModelTemplates(collaboration) });
  });
  router.post('/v1/collaborations/:id/model-templates', ...signedJsonBody(room), async (req, res) => {
    const { collaboration, caller } = collaborationAndCaller(req.params.id as string, res.locals.callerKey);
    res.status(201).json(await room.proposeModelTemplate(collaboration, caller, res.locals.body));
  });
  router.get('/v1/collaborations/:id/model-templates/:name', ...signedJsonBody(room), async (req, res) => {
    const { collaboration } = collaborationAndCaller(req.params.id as string, res.locals.callerKey);
    res.json(await room.modelTemplateStatus(collaboration, req.params.name as string));
  });
  router.post(
    '/v1/collaborations/:id/model-templates/:name/approvals',
    ...signedJsonBody(room, reviewBody),
    async (req, res) => {
      const { collaboration, caller } = collaborationAndCaller(req.params.id as string, res.locals.callerKey);
      const review = res.locals.body as TemplateReviewRequest;
      res.status(201).json(await room.reviewModelTemplate(collaboration, caller, req.params.name as string, review));
    },
  );
  router.post('/v1/collaborations/:id/models', ...signedJsonBody(room, trainBody), async (req, res) => {
    const { collaboration, caller } = collaborationAndCaller(req.params.id as string, res.locals.callerKey);
    await answerWithProgress<TrainingProgress, unknown>(req, res, log, (onProgress) =>
      room.trainModel(collaboration, caller, res.locals.body as { template: string }, onProgress),
    );
  });
  router.get('/v1/collaborations/:id/models', ...signedJsonBody(room), async (req, res) => {
    const { collaboration, caller } = collaborationAndCaller(req.params.id as string, res.locals.callerKey);
    res.json({ models: await room.listModels(collaboration, caller) });
  });
  router.get('/v1/collaborations/:id/models/:seq', ...signedJsonBody(room), async (req, res) => {
    const { collaboration, caller } = collaborationAndCaller(req.params.id as string, res.locals.callerKey);
    res.json(await room.model(collaboration, caller, modelSeq(req.params.seq as string)));
  });
  router.post('/v1/collaborations/:id/models/:seq/scores', ...signedJsonBody(room, scoreBody), async (req, res) => {
    const { collaboration, caller } = collaborationAndCaller(req.params.id as string, res.locals.callerKey);
    const { dataset } = res.locals.body as { dataset: string };
    const scored = await room.scoreOwnRows(collaboration, caller, {
      model: modelSeq(req.params.seq as string),
      dataset,
    });
    res
      .status(200)
      .type('text/csv')
      .set('x-cleanroom-rows', String(scored.rows))
      .set('x-cleanroom-audit-seq', String(scored.auditSeq))
      .send(Buffer.from(scored.csv));
  });
  return router;
}

/** A model is named by its audit entry's sequence number. */
function modelSeq(text: string): number {
  if (!/^[1-9][0-9]{0,9}$/.test(text))
    throw new InvalidInputError(
      'INVALID_REQUEST',
      'A model is named by its audit sequence number (a positive integer).',
      {
        model: text.slice(0, 20),
      },
    );
  return Number(text);
}
