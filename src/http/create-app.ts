import express, { type Express } from 'express';
import { pinoHttp } from 'pino-http';
import type { Logger } from '../log/logger.ts';
import type { Room } from '../room/room.ts';
import { errorHandler, notFoundHandler } from './error-handler.ts';
import { consoleRoutes } from './routes/console-routes.ts';
import { collaborationRoutes } from './routes/collaboration-routes.ts';
import { datasetRoutes } from './routes/dataset-routes.ts';
import { extractRoutes } from './routes/extract-routes.ts';
import { modelRoutes } from './routes/model-routes.ts';
import { queryRoutes } from './routes/query-routes.ts';
import { psiRoutes } from './routes/psi-routes.ts';
import { roomRoutes } from './routes/room-routes.ts';
import { signedHeaders } from './signed-request.ts';

export interface AppDeps {
  readonly room: Room;
  readonly log: Logger;
}

/** The HTTP shell over a room: unsigned health and keys, then every other /v1 route signed. */
export function createApp({ room, log }: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  // Every answer says where it was processed (issue #12: residency in every response's provenance).
  app.use((_req, res, next) => {
    res.set('x-cleanroom-region', room.residency.region);
    next();
  });
  app.use(pinoHttp({ logger: log, autoLogging: { ignore: (req) => req.url === '/v1/health' } }));
  app.use(roomRoutes(room));
  app.use(consoleRoutes());
  app.use('/v1', signedHeaders(room));
  app.use(collaborationRoutes(room));
  app.use(datasetRoutes(room));
  app.use(queryRoutes(room));
  app.use(extractRoutes(room, log));
  app.use(modelRoutes(room, log));
  app.use(psiRoutes(room));
  app.use(notFoundHandler);
  app.use(errorHandler(log));
  return app;
}
