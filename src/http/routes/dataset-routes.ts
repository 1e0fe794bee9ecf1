import { Router } from 'express';
import { RequestTimeoutError } from '../../errors/cleanroom-error.ts';
import { drainRemainder } from '../../room/dataset-upload.ts';
import type { Room } from '../../room/room.ts';
import { signedJsonBody, streamedEnvelopeBody } from '../signed-request.ts';

/** Dataset declarations, their current version, and encrypted uploads. */
export function datasetRoutes(room: Room): Router {
  const router = Router();
  router.get('/v1/collaborations/:id/datasets/:name', ...signedJsonBody(room), async (req, res) => {
    const collaboration = room.collaboration(req.params.id as string);
    room.principal(collaboration.id, res.locals.callerKey);
    res.json(await room.datasetStatus(collaboration, req.params.name as string));
  });
  // Deletion now, by the owner's provider or officer: crypto-shredded (storage key destroyed), audited.
  router.delete('/v1/collaborations/:id/datasets/:name', ...signedJsonBody(room), async (req, res) => {
    const collaboration = room.collaboration(req.params.id as string);
    const caller = room.principal(collaboration.id, res.locals.callerKey);
    res.json(await room.deleteDataset(collaboration, caller, req.params.name as string));
  });
  // The upload's checks without its body: a client asks before encrypting and streaming a large file.
  router.post('/v1/collaborations/:id/datasets/:name/upload-preflight', ...signedJsonBody(room), async (req, res) => {
    const collaboration = room.collaboration(req.params.id as string);
    const uploader = room.principal(collaboration.id, res.locals.callerKey);
    res.json(await room.uploadPreflight(collaboration, uploader, req.params.name as string));
  });
  router.put('/v1/collaborations/:id/datasets/:name', streamedEnvelopeBody, async (req, res) => {
    const collaboration = room.collaboration(req.params.id as string);
    const uploader = room.principal(collaboration.id, res.locals.callerKey);
    try {
      res.status(201).json(await room.uploadDataset(collaboration, uploader, req.params.name as string, req));
    } catch (error) {
      // A stalled client would stall the drain too: answer it and close instead.
      if (!req.complete && !(error instanceof RequestTimeoutError)) {
        res.setHeader('connection', 'close');
        await drainRemainder(req);
      }
      throw error;
    }
  });
  return router;
}
