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
  stop(): Promise<void>;
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
  const url = `http://${host}:${(server.address() as AddressInfo).port}`;
  return {
    room,
    server,
    url,
    stop: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await room.close();
    },
  };
}
