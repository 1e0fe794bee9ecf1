import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp } from '../http/create-app.ts';
import type { Logger } from '../log/logger.ts';
import { openRoom } from '../room/open-room.ts';
import { embeddedDefaults, type RoomConfig } from '../room/room-config.ts';
import type { Room } from '../room/room.ts';

export interface RunningRoom {
  readonly room: Room;
  readonly server: Server;
  readonly url: string;
  /** stops accepting, waits up to graceMs (30 s) for requests in flight, then closes the room */
  stop(graceMs?: number): Promise<void>;
}

/** Opens a room and serves it over HTTP on the given host and port (0 picks a free port). */
export async function serveRoom(
  log: Logger,
  options: { host?: string; port?: number; config?: Partial<RoomConfig> } = {},
): Promise<RunningRoom> {
  const { room } = await openRoom(embeddedDefaults(options.config), log);
  const app = createApp({ room, log });
  const host = options.host ?? '127.0.0.1';
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(options.port ?? 8080, host, () => resolve(s));
    s.once('error', reject);
  });
  // Node cuts any request still arriving after 5 minutes; an 8 GiB upload on a slow link takes longer.
  // Uploads carry their own idle deadline (uploadIdleTimeoutMs) and every other body is at most 1 MiB.
  server.requestTimeout = 0;
  const url = `http://${host}:${(server.address() as AddressInfo).port}`;
  return {
    room,
    server,
    url,
    // Graceful: stop accepting, let requests in flight finish (queries, uploads, PSI steps) for up to
    // `graceMs`, then cut what is left and close the room (which interrupts any query still running).
    stop: async (graceMs = 30_000) => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([closed, new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs).unref()))]);
      clearTimeout(timer);
      server.closeAllConnections();
      await room.close();
    },
  };
}
