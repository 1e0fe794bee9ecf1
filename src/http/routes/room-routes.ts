import { Router } from 'express';
import type { Room } from '../../room/room.ts';

/** The two unsigned routes: liveness, and the room's public keys that clients seal and verify with. */
export function roomRoutes(room: Room): Router {
  const router = Router();
  // Public: a quarantined file is named with its count of problems; the problems are in the operator's log.
  router.get('/v1/health', (_req, res) => {
    const quarantined = room.quarantinedPolicies();
    res.json({
      status: quarantined.length > 0 ? 'degraded' : 'ok',
      uptimeSeconds: Math.round((Date.now() - room.startedAt) / 1000),
      ...(quarantined.length > 0
        ? { quarantinedPolicies: quarantined.map((q) => ({ file: q.file, problems: q.problems.length })) }
        : {}),
    });
  });
  router.get('/v1/room', (_req, res) => {
    res.json({
      ...room.publicKeys(),
      collaborations: room.collaborationIds(),
      residency: room.residency,
      limits: room.limits,
    });
  });
  return router;
}
