import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toBase64 } from '../../src/crypto/bytes.ts';
import { generateSigningKeyPair, publicKeyText } from '../../src/crypto/signing-keys.ts';
import { sign } from '../../src/crypto/signatures.ts';
import { createApp } from '../../src/http/create-app.ts';
import type { RandomSource } from '../../src/privacy/random-source.ts';
import type { PrincipalKey } from '../../src/keys/principal-key-file.ts';
import { createLogger } from '../../src/log/logger.ts';
import type { CollaborationDocument } from '../../src/policy/policy-document.ts';
import { acceptanceSigningBytes } from '../../src/room/policy-acceptance.ts';
import { openRoom } from '../../src/room/open-room.ts';
import { embeddedDefaults, type RoomConfig } from '../../src/room/room-config.ts';
import type { RoomServices } from '../../src/room/room-services.ts';
import type { Room } from '../../src/room/room.ts';
import type { OpenPartialFile } from '../../src/room/ciphertext-tee.ts';
import { RoomClient } from '../../src/client/room-client.ts';
import { uploadFile, type UploadResult } from '../../src/client/upload-file.ts';
import { inProcessFetch } from './in-process-fetch.ts';

type Mutable<T> = {
  -readonly [K in keyof T]: NonNullable<T[K]> extends object
    ? Mutable<NonNullable<T[K]>> | Extract<T[K], undefined>
    : T[K];
};
export type PolicyDraft = Mutable<CollaborationDocument>;

export interface TestRoom {
  /** What the HTTP app is given: the room's acts, no store handle. */
  room: Room;
  /**
   * The room's services (engine, state database, staging, PSI budget, random source), for tests
   * that read raw data as an independent oracle or watch a service; replaced by restart().
   */
  internals: RoomServices;
  app: ReturnType<typeof createApp>;
  /** The listening server (replaced by restart()), for tests that watch its sockets. */
  server: Server;
  dir: string;
  config: RoomConfig;
  policy: PolicyDraft;
  keys: Record<string, PrincipalKey>;
  baseUrl: string;
  client(principal: string): RoomClient;
  acceptAll(): Promise<void>;
  restart(): Promise<void>;
  close(): Promise<void>;
}

/** Which demo provider uploads each demo dataset. */
export const DEMO_PROVIDERS: Readonly<Record<string, string>> = {
  advertiser_customers: 'acme-provider',
  publisher_impressions: 'northwind-provider',
};

/**
 * The encrypted upload as the dataset's provider runs it (client encrypt, HTTP stream, room decrypt
 * and load, commit); by default of the committed fixture `fixtures/<dataset>.csv`.
 */
export function uploadDemoDataset(
  t: TestRoom,
  dataset: string,
  file = join(process.cwd(), 'fixtures', `${dataset}.csv`),
): Promise<UploadResult> {
  const principal = DEMO_PROVIDERS[dataset];
  if (!principal) throw new Error(`No provider for dataset ${dataset}.`);
  return uploadFile({
    client: t.client(principal),
    key: t.keys[principal] as PrincipalKey,
    collaboration: 'demo',
    dataset,
    file,
  });
}

/** The demo policy with fresh keys for every principal, so tests never depend on committed keys. */
export async function demoPolicyWithFreshKeys(): Promise<{ policy: PolicyDraft; keys: Record<string, PrincipalKey> }> {
  const policy = JSON.parse(await readFile('policies/demo.json', 'utf8')) as PolicyDraft;
  delete (policy as { $schema?: string }).$schema;
  const keys: Record<string, PrincipalKey> = {};
  for (const member of policy.members) {
    for (const principal of member.principals) {
      const pair = generateSigningKeyPair();
      principal.publicKey = publicKeyText(pair.publicKey);
      keys[principal.id] = { ...pair, name: principal.id, publicKeyText: principal.publicKey };
    }
  }
  return { policy, keys };
}

async function listen(app: TestRoom['app']): Promise<{ server: Server; baseUrl: string }> {
  return new Promise((resolve) => {
    const server = app.listen(0, '127.0.0.1', () => {
      resolve({ server, baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
    });
  });
}

/** A real room (DuckDB, state file, envelopes) in a temp directory, served on loopback. */
export async function startTestRoom(
  options: {
    edit?: (policy: PolicyDraft) => void;
    config?: Partial<RoomConfig>;
    randomSource?: RandomSource;
    openPartialFile?: OpenPartialFile;
    logLines?: string[];
  } = {},
): Promise<TestRoom> {
  const dir = await mkdtemp(join(tmpdir(), 'cleanroom-test-'));
  const { policy, keys } = await demoPolicyWithFreshKeys();
  options.edit?.(policy);
  await mkdir(join(dir, 'policies'));
  await writeFile(join(dir, 'policies', `${policy.id}.json`), JSON.stringify(policy, null, 2));
  const config = embeddedDefaults(
    {
      dataDirectory: join(dir, 'data'),
      policiesDirectory: join(dir, 'policies'),
      templatesDirectory: join(dir, 'sql'),
      masterKey: undefined,
      engine: { memoryLimit: '1GB', threads: 1, statementTimeoutMs: 10_000 },
      ...options.config,
    },
    {},
  );
  await mkdir(config.dataDirectory, { recursive: true });
  await mkdir(config.templatesDirectory, { recursive: true });
  // logLines: collect the room's JSON log lines (what an operator would read) for assertions.
  const log = options.logLines
    ? createLogger({
        level: 'info',
        pretty: false,
        destination: { write: (line: string) => void options.logLines?.push(line) },
      })
    : createLogger({ level: 'silent', pretty: false });
  const state = {} as TestRoom;
  let server: Server;
  const boot = async () => {
    const opened = await openRoom(config, log, {
      randomSource: options.randomSource,
      openPartialFile: options.openPartialFile,
    });
    state.room = opened.room;
    state.internals = opened.internals;
    state.app = createApp({ room: state.room, log });
    const listening = await listen(state.app);
    server = listening.server;
    state.server = server;
    state.baseUrl = listening.baseUrl;
  };
  await boot();
  const stop = async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await state.room.close();
  };
  Object.assign(state, {
    dir,
    config,
    policy,
    keys,
    // In process (supertest on the app); streamed uploads alone take the loopback socket.
    client: (principal: string) =>
      new RoomClient(state.baseUrl, keys[principal], {
        fetch: (input, init) => inProcessFetch(state.app)(input, init),
      }),
    acceptAll: async () => {
      const hash = state.room.collaboration(policy.id).hash;
      for (const officer of ['acme-officer', 'northwind-officer']) {
        const key = keys[officer] as PrincipalKey;
        await state.client(officer).send('POST', `/v1/collaborations/${policy.id}/acceptances`, {
          policyHash: hash,
          signature: toBase64(sign(acceptanceSigningBytes(policy.id, hash), key.secretKey)),
        });
      }
    },
    restart: async () => {
      await stop();
      await boot();
    },
    close: async () => {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  });
  return state;
}
