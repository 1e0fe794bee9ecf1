import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import express, { type Express, type RequestHandler } from 'express';
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

/**
 * The request's id: the caller's X-Request-Id when it is a plain token (so a client can correlate),
 * else a new UUID; echoed in the answer and on every log line of the request.
 */
function requestId(req: IncomingMessage, res: ServerResponse): string {
  const given = req.headers['x-request-id'];
  const id = typeof given === 'string' && /^[A-Za-z0-9._-]{1,64}$/.test(given) ? given : randomUUID();
  res.setHeader('x-request-id', id);
  return id;
}

/** Counts every answer by route template (never the raw path: ids stay out of labels), status and refusal code. */
function countRequests(room: Room): RequestHandler {
  return (req, res, next) => {
    const started = performance.now();
    res.on('finish', () => {
      const route = req.route?.path ? `${req.baseUrl}${String(req.route.path)}` : 'unmatched';
      room.metrics.request(route, req.method, res.statusCode, (performance.now() - started) / 1000);
      const code = res.locals.errorCode;
      if (typeof code === 'string' && res.statusCode >= 400 && res.statusCode < 500) room.metrics.refused(code);
    });
    next();
  };
}

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
  app.use(
    pinoHttp({
      logger: log,
      autoLogging: { ignore: (req) => req.url === '/v1/health' || req.url === '/v1/metrics' },
      genReqId: requestId,
      // Read when the response is logged: by then the signature check and the error handler have run.
      customProps: (req, res) => ({
        principal: (res as ServerResponse & { locals?: Record<string, unknown> }).locals?.principal,
        collaboration: /^\/v1\/collaborations\/([^/?]+)/.exec(req.url ?? '')?.[1],
        code: (res as ServerResponse & { locals?: Record<string, unknown> }).locals?.errorCode,
      }),
    }),
  );
  app.use(countRequests(room));
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
