import { Router } from 'express';
import { toBase64 } from '../../crypto/bytes.ts';
import type { Room } from '../../room/room.ts';

/** The two unsigned routes: liveness, and the room's public keys that clients seal and verify with. */
export function roomRoutes(room: Room): Router {
  const router = Router();
  router.get('/v1/health', (_req, res) => {
    res.json({ status: 'ok', uptimeSeconds: Math.round((Date.now() - room.startedAt) / 1000) });
  });
  router.get('/v1/room', (_req, res) => {
    res.json({
      sealingPublicKey: toBase64(room.keys.sealing.publicKey),
      signingPublicKey: toBase64(room.keys.signing.publicKey),
      collaborations: [...room.collaborations.keys()],
      limits: {
        maxUploadBytes: room.config.maxUploadBytes, maxParquetBytes: room.config.maxParquetBytes, maxJsonBytes: room.config.maxJsonBytes,
        signatureWindowMs: room.config.signatureWindowMs, maxPsiMessageBytes: room.psiUploads.messageLimit,
      },
    });
  });
  return router;
}
