import { Router } from 'express';
import type { SearchProgress } from '../../extract/lattice-search.ts';
import type { Logger } from '../../log/logger.ts';
import type { Room } from '../../room/room.ts';
import type { TemplateReviewRequest } from '../../room/template-registry.ts';
import { compileValidator } from '../../validation/json-validator.ts';
import { answerWithProgress } from '../progress-answer.ts';
import { reviewBody } from './query-routes.ts';
import { signedJsonBody } from '../signed-request.ts';

export const runBody = compileValidator<{ template: string; dryRun?: boolean }>({
  type: 'object',
  additionalProperties: false,
  required: ['template'],
  properties: {
    template: { type: 'string', pattern: '^[a-z][a-z0-9_]{0,62}$' },
    dryRun: { type: 'boolean' },
  },
});

/** Extract templates (propose, review) and extract runs (progress as NDJSON while the search walks the lattice). */
export function extractRoutes(room: Room, log: Logger): Router {
  const router = Router();
  const collaborationAndCaller = (id: string, key: string) => {
    const collaboration = room.collaboration(id);
    return { collaboration, caller: room.principal(collaboration.id, key) };
  };
  router.get('/v1/collaborations/:id/extract-templates', ...signedJsonBody(room), async (req, res) => {
    const { collaboration } = collaborationAndCaller(req.params.id as string, res.locals.callerKey);
    res.json({ templates: await room.listExtractTemplates(collaboration) });
  });
  router.post('/v1/collaborations/:id/extract-templates', ...signedJsonBody(room), async (req, res) => {
    const { collaboration, caller } = collaborationAndCaller(req.params.id as string, res.locals.callerKey);
    res.status(201).json(await room.proposeExtractTemplate(collaboration, caller, res.locals.body));
  });
  router.get('/v1/collaborations/:id/extract-templates/:name', ...signedJsonBody(room), async (req, res) => {
    const { collaboration } = collaborationAndCaller(req.params.id as string, res.locals.callerKey);
    res.json(await room.extractTemplateStatus(collaboration, req.params.name as string));
  });
  router.post(
    '/v1/collaborations/:id/extract-templates/:name/approvals',
    ...signedJsonBody(room, reviewBody),
    async (req, res) => {
      const { collaboration, caller } = collaborationAndCaller(req.params.id as string, res.locals.callerKey);
      const review = res.locals.body as TemplateReviewRequest;
      res.status(201).json(await room.reviewExtractTemplate(collaboration, caller, req.params.name as string, review));
    },
  );
  router.post('/v1/collaborations/:id/extracts', ...signedJsonBody(room, runBody), async (req, res) => {
    const { collaboration, caller } = collaborationAndCaller(req.params.id as string, res.locals.callerKey);
    const request = res.locals.body as { template: string; dryRun?: boolean };
    await answerWithProgress<SearchProgress, unknown>(req, res, log, (onProgress) =>
      room.runExtract(collaboration, caller, request, onProgress),
    );
  });
  router.get('/v1/collaborations/:id/extracts/:extract', ...signedJsonBody(room), async (req, res) => {
    const { collaboration, caller } = collaborationAndCaller(req.params.id as string, res.locals.callerKey);
    const sealed = await room.sealedExtract(collaboration, caller, req.params.extract as string);
    res.status(200).type('application/octet-stream').send(Buffer.from(sealed));
  });
  return router;
}
