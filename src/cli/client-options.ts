import { fromBase64 } from '../crypto/bytes.ts';
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

/**
 * The room's Ed25519 signing key as `--room-key BASE64` gives it, or as the room at `--url` publishes
 * it (GET /v1/room): `given` says whether either was named, `key` is undefined when it is not a key.
 */
export async function roomSigningKey(o: {
  roomKey?: string;
  url?: string;
}): Promise<{ given: boolean; key?: Uint8Array }> {
  const text =
    o.roomKey ??
    (o.url
      ? (await new RoomClient(o.url).getPublic<{ signingPublicKey: string }>('/v1/room')).signingPublicKey
      : undefined);
  return { given: text !== undefined, key: text ? fromBase64(text, 32) : undefined };
}
