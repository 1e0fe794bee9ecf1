import { chmod, readFile, writeFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { fromBase64, toBase64 } from '../crypto/bytes.ts';
import {
  generateSealingKeyPair,
  randomKey,
  sealingKeyPairFromSecret,
  unwrapKey,
  wrapKey,
  type SealingKeyPair,
} from '../crypto/sealing.ts';
import { generateSigningKeyPair, signingKeyPairFromSecret, type SigningKeyPair } from '../crypto/signing-keys.ts';
import { InvalidInputError } from '../errors/cleanroom-error.ts';

export interface RoomKeys {
  readonly masterKey: Uint8Array;
  readonly sealing: SealingKeyPair;
  readonly signing: SigningKeyPair;
}

interface RoomKeyFile {
  readonly v: 1;
  readonly sealingPublicKey: string;
  readonly signingPublicKey: string;
  /** secretbox under the master key */
  readonly sealingSecretKey: string;
  readonly signingSecretKey: string;
}

const MASTER_KEY_FILE = 'master.key';
const ROOM_KEY_FILE = 'room-keys.json';

/**
 * The master key wraps every other room secret. From CLEANROOM_MASTER_KEY (base64, 32 bytes) in
 * production; for the embedded default, a generated 0600 file in the data directory.
 */
export async function loadMasterKey(dataDirectory: string, fromEnvironment: string | undefined): Promise<Uint8Array> {
  if (fromEnvironment !== undefined) {
    const key = fromBase64(fromEnvironment.trim(), 32);
    if (!key) throw new InvalidInputError('MASTER_KEY_INVALID', 'CLEANROOM_MASTER_KEY must be 32 bytes in base64.');
    return key;
  }
  const path = join(dataDirectory, MASTER_KEY_FILE);
  try {
    const key = fromBase64((await readFile(path, 'utf8')).trim(), 32);
    if (!key) throw new InvalidInputError('MASTER_KEY_INVALID', `${path} does not hold a 32-byte base64 key.`);
    return key;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    const key = randomKey();
    await writeFile(path, `${toBase64(key)}\n`, { mode: 0o600, flag: 'wx' });
    await chmod(path, 0o600);
    return key;
  }
}

/** Loads the room's key pairs, creating them on first start; private halves only ever wrapped on disk. */
export async function loadRoomKeys(dataDirectory: string, masterKey: Uint8Array): Promise<RoomKeys> {
  const path = join(dataDirectory, ROOM_KEY_FILE);
  let file: RoomKeyFile;
  try {
    file = JSON.parse(await readFile(path, 'utf8')) as RoomKeyFile;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    const sealing = generateSealingKeyPair();
    const signing = generateSigningKeyPair();
    file = {
      v: 1,
      sealingPublicKey: toBase64(sealing.publicKey),
      signingPublicKey: toBase64(signing.publicKey),
      sealingSecretKey: toBase64(wrapKey(masterKey, sealing.secretKey)),
      signingSecretKey: toBase64(wrapKey(masterKey, signing.secretKey)),
    };
    await writeFile(`${path}.new`, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600 });
    await rename(`${path}.new`, path);
  }
  const sealingSecret = unwrapKey(masterKey, fromBase64(file.sealingSecretKey) ?? new Uint8Array());
  const signingSecret = unwrapKey(masterKey, fromBase64(file.signingSecretKey) ?? new Uint8Array());
  if (!sealingSecret || !signingSecret) {
    throw new InvalidInputError(
      'MASTER_KEY_MISMATCH',
      `The master key does not open ${path}: it is not the key this room was created with.`,
    );
  }
  return {
    masterKey,
    sealing: sealingKeyPairFromSecret(sealingSecret),
    signing: signingKeyPairFromSecret(signingSecret),
  };
}
