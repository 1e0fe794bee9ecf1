import { Router } from 'express';
import { currentVersion } from '../../room/dataset-registry.ts';
import { drainRemainder, uploadDataset } from '../../room/dataset-upload.ts';
import type { Room } from '../../room/room.ts';
import { NotFoundError } from '../../errors/cleanroom-error.ts';
import { signedJsonBody, streamedEnvelopeBody } from '../signed-request.ts';

/** Dataset declarations, their current version, and encrypted uploads. */
export function datasetRoutes(room: Room): Router {
  const router = Router();
  router.get('/v1/collaborations/:id/datasets/:name', ...signedJsonBody(room), async (req, res) => {
    const collaboration = room.collaboration(req.params.id as string);
    room.principal(collaboration.id, res.locals.callerKey);
    const dataset = collaboration.datasets.get(req.params.name as string);
    if (!dataset) throw new NotFoundError('DATASET_NOT_FOUND', `Collaboration "${collaboration.id}" declares no dataset "${req.params.name}".`);
    const version = await currentVersion(room.state, collaboration.id, dataset.name);
    res.json({
      dataset: dataset.document,
      current: version ? { version: version.version, rows: version.rows, envelopeSha256: version.envelopeSha256, uploadedAt: version.uploadedAt, signer: version.signer } : null,
    });
  });
  router.put('/v1/collaborations/:id/datasets/:name', streamedEnvelopeBody, async (req, res) => {
    const collaboration = room.collaboration(req.params.id as string);
    const uploader = room.principal(collaboration.id, res.locals.callerKey);
    try {
      res.status(201).json(await uploadDataset(room, collaboration, uploader, req.params.name as string, req));
    } catch (error) {
      if (!req.complete) {
        res.setHeader('connection', 'close');
        await drainRemainder(req);
      }
      throw error;
    }
  });
  return router;
}
