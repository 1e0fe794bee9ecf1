import { API_VERSION } from '../api-version.ts';
import { openApiDocument } from '../openapi.ts';
import { body } from '../error-handler.ts';
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
  // Readiness for an orchestrator: 503 while a policy file is quarantined or a stored version did not load.
  router.get('/v1/ready', (_req, res) => {
    const readiness = room.readiness();
    res.status(readiness.ready ? 200 : 503).json({
      status: readiness.ready ? 'ready' : 'not ready',
      quarantinedPolicies: readiness.quarantinedPolicies,
      datasetsNotLoaded: readiness.datasetsNotLoaded,
    });
  });
  // Prometheus text for the operator: with CLEANROOM_METRICS_TOKEN as a bearer token, else from loopback only.
  router.get('/v1/metrics', async (req, res) => {
    // A request relayed by a proxy on the room's host arrives from loopback too: one that carries a
    // forwarding header came from elsewhere, so it needs the token (found in a hostile review).
    const relayed = ['forwarded', 'x-forwarded-for', 'x-real-ip'].some((h) => req.headers[h] !== undefined);
    const loopback = !relayed && ['127.0.0.1', '::1', '::ffff:127.0.0.1'].includes(req.socket.remoteAddress ?? '');
    if (!room.mayReadMetrics(req.headers.authorization, loopback)) {
      res
        .status(403)
        .json(
          body('METRICS_FORBIDDEN', 'Metrics are for the operator: send the bearer token, or ask from the room host.'),
        );
      return;
    }
    const { contentType, text } = await room.metrics.render();
    res.type(contentType).send(text);
  });
  const openApi = openApiDocument(API_VERSION);
  router.get('/v1/openapi.json', (_req, res) => {
    res.json(openApi);
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
