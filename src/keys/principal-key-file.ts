import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidInputError } from '../errors/cleanroom-error.ts';
import { toBase64 } from '../crypto/bytes.ts';
import {
  generateSigningKeyPair,
  parseSecretKey,
  publicKeyText,
  signingKeyPairFromSecret,
  type SigningKeyPair,
} from '../crypto/signing-keys.ts';

/** The private key file of a principal: JSON, mode 0600, never sent anywhere. */
interface KeyFileContent {
  readonly type: 'cleanroom-ed25519-secret-key';
  readonly name: string;
  readonly publicKey: string;
  readonly secretKey: string;
}

export interface PrincipalKey extends SigningKeyPair {
  readonly name: string;
  readonly publicKeyText: string;
}

/** Writes `<dir>/<name>.key` (0600) and `<dir>/<name>.pub`; refuses to overwrite an existing key. */
export async function createPrincipalKeyFiles(
  directory: string,
  name: string,
): Promise<{ keyPath: string; publicKey: string }> {
  if (!/^[a-z][a-z0-9-]{0,62}$/.test(name))
    throw new InvalidInputError('KEY_NAME_INVALID', 'A key name is lowercase letters, digits and dashes.', { name });
  await mkdir(directory, { recursive: true, mode: 0o700 });
  const keys = generateSigningKeyPair();
  const keyPath = join(directory, `${name}.key`);
  const content: KeyFileContent = {
    type: 'cleanroom-ed25519-secret-key',
    name,
    publicKey: publicKeyText(keys.publicKey),
    secretKey: toBase64(keys.secretKey),
  };
  try {
    await writeFile(keyPath, `${JSON.stringify(content, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new InvalidInputError('KEY_EXISTS', `${keyPath} already exists; keys are never overwritten.`, { keyPath });
    }
    throw error;
  }
  await chmod(keyPath, 0o600);
  await writeFile(join(directory, `${name}.pub`), `${content.publicKey}\n`);
  return { keyPath, publicKey: content.publicKey };
}

/** Reads a principal key file, checking that its public half matches its secret half. */
export async function readPrincipalKeyFile(path: string): Promise<PrincipalKey & { looseMode: boolean }> {
  let content: Partial<KeyFileContent>;
  try {
    content = JSON.parse(await readFile(path, 'utf8')) as Partial<KeyFileContent>;
  } catch {
    throw new InvalidInputError('KEY_FILE_INVALID', `${path} is not a readable Cleanroom key file.`, { path });
  }
  const secret = typeof content.secretKey === 'string' ? parseSecretKey(content.secretKey) : undefined;
  if (content.type !== 'cleanroom-ed25519-secret-key' || !secret) {
    throw new InvalidInputError('KEY_FILE_INVALID', `${path} is not a Cleanroom Ed25519 secret key file.`, { path });
  }
  const pair = signingKeyPairFromSecret(secret);
  if (publicKeyText(pair.publicKey) !== content.publicKey) {
    throw new InvalidInputError('KEY_FILE_INVALID', `${path}: the public key does not match the secret key.`, { path });
  }
  const mode = (await stat(path)).mode & 0o077;
  return { ...pair, name: content.name ?? 'key', publicKeyText: content.publicKey, looseMode: mode !== 0 };
}
