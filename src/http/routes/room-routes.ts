import { Router } from 'express';
import type { Room } from '../../room/room.ts';

/** The two unsigned routes: liveness, and the room's public keys that clients seal and verify with. */
export function roomRoutes(room: Room): Router {
  const router = Router();
  router.get('/v1/health', (_req, res) => {
    res.json({ status: 'ok', uptimeSeconds: Math.round((Date.now() - room.startedAt) / 1000) });
  });
  router.get('/v1/room', (_req, res) => {
    res.json({
      ...room.publicKeys(),
      collaborations: room.collaborationIds(),
      limits: room.limits,
    });
  });
  return router;
}
