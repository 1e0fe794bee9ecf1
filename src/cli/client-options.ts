import { readPrincipalKeyFile, type PrincipalKey } from '../keys/principal-key-file.ts';
import { RoomClient } from '../client/room-client.ts';
import { printError } from './output.ts';

/** Loads the principal key a command acts with, warning when the file is readable by others. */
export async function loadKey(path: string): Promise<PrincipalKey> {
  const key = await readPrincipalKeyFile(path);
  if (key.looseMode) printError(`warning: ${path} is readable by other users; chmod 600 it.\n`);
  return key;
}

export async function signedClient(url: string, keyPath: string): Promise<{ client: RoomClient; key: PrincipalKey }> {
  const key = await loadKey(keyPath);
  return { client: new RoomClient(url, key), key };
}
