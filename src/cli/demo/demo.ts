import { readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { RoomClient } from '../../client/room-client.ts';
import { uploadFile } from '../../client/upload-file.ts';
import { createLogger } from '../../log/logger.ts';
import type { CollaborationStatus } from '../../room/policy-acceptance.ts';
import {
  acceptCollaboration,
  auditExport,
  verifyAuditExport,
  verifyRemoteAudit,
} from '../commands/collaboration-commands.ts';
import { fromBase64 } from '../../crypto/bytes.ts';
import { print, say, step } from '../output.ts';
import { progressBar } from '../progress.ts';
import type { ExecutorConfig } from '../../room/room-config.ts';
import { serveRoom, type RunningRoom } from '../serve.ts';
import { demoQueries } from './demo-queries.ts';
import { demoDifferentialPrivacy, demoPsi } from './demo-dp-psi.ts';
import { demoExtract } from './demo-extract.ts';
import { demoModel } from './demo-model.ts';
import { committedWorkspace, freshWorkspace, type DemoPrincipal, type DemoWorkspace } from './demo-setup.ts';

export interface DemoContext {
  readonly url: string;
  readonly workspace: DemoWorkspace;
  client(principal: DemoPrincipal): RoomClient;
}

const COLLABORATION = 'demo';
const DATASETS = [
  { dataset: 'advertiser_customers', provider: 'acme-provider', file: 'fixtures/advertiser_customers.csv' },
  { dataset: 'publisher_impressions', provider: 'northwind-provider', file: 'fixtures/publisher_impressions.csv' },
] as const;

async function uploadFixtures(ctx: DemoContext): Promise<void> {
  for (const { dataset, provider, file } of DATASETS) {
    const bar = progressBar(`   sealing ${file}`);
    const result = await uploadFile({
      client: ctx.client(provider),
      key: ctx.workspace.keys[provider],
      collaboration: COLLABORATION,
      dataset,
      file: resolve(file),
      onProgress: (p) => bar.update(p.bytesRead, p.totalBytes),
    });
    bar.stop();
    const megabytes = (result.plaintextBytes / 1e6).toFixed(1);
    say(
      `${provider} uploaded ${dataset} v${result.version}: ${result.rows.toLocaleString('en')} rows, ${megabytes} MB ` +
        `encrypted on this machine (ChaCha20-Poly1305 chunks, data key sealed to the room), ` +
        `audit #${result.auditSeq}`,
    );
  }
}

/**
 * Where the demo room runs its queries: the embedded engine, a ClickHouse named by the environment,
 * or, for CLEANROOM_EXECUTOR=clickhouse without a URL, ClickHouse in process (chdb, a development
 * dependency) behind the loopback endpoint the tests use.
 */
async function demoExecutor(): Promise<{ config?: ExecutorConfig; label: string; stop(): Promise<void> }> {
  const none = async () => undefined;
  if (process.env.CLEANROOM_EXECUTOR !== 'clickhouse') return { label: 'the embedded DuckDB', stop: none };
  if (process.env.CLEANROOM_CLICKHOUSE_URL)
    return { label: `ClickHouse at ${process.env.CLEANROOM_CLICKHOUSE_URL}`, stop: none };
  const { startChdbEndpoint } = await import('../../../test/support/chdb-endpoint.ts');
  const endpoint = await startChdbEndpoint();
  return {
    config: { kind: 'clickhouse', url: endpoint.url, database: 'cleanroom' },
    label: `ClickHouse (chdb in process, test endpoint ${endpoint.url})`,
    stop: () => endpoint.close(),
  };
}

/** `npm run demo`: the product's main job, step by step, on the demo policy and fixtures. */
export async function runDemo(options: { url?: string }): Promise<void> {
  let running: RunningRoom | undefined;
  let executor: Awaited<ReturnType<typeof demoExecutor>> | undefined;
  const workspace = options.url ? await committedWorkspace() : await freshWorkspace();
  try {
    step(1, 'Keys: every principal holds its own Ed25519 key; the room stores no shared secret');
    if (options.url) say(`using the committed demo keys in fixtures/keys against ${options.url}`);
    else
      say(
        `created 6 key pairs in ${join(workspace.directory, 'keys')} (0600) ` +
          `and wrote the demo policy with their public keys`,
      );

    step(2, 'The room: X25519 + Ed25519 keys wrapped under a master key, DuckDB in memory and locked down');
    if (!options.url) {
      executor = await demoExecutor();
      running = await serveRoom(createLogger({ level: 'warn' }), {
        port: 0,
        config: {
          dataDirectory: join(workspace.directory, 'data'),
          policiesDirectory: workspace.policiesDirectory,
          templatesDirectory: resolve('sql'),
          ...(executor.config ? { executor: executor.config } : {}),
        },
      });
      say(`threshold and DP queries run on ${executor.label} (CLEANROOM_EXECUTOR)`);
    }
    const url = options.url ?? (running as RunningRoom).url;
    const ctx: DemoContext = { url, workspace, client: (p) => new RoomClient(url, workspace.keys[p]) };
    const room = await new RoomClient(url).getPublic<{ sealingPublicKey: string; signingPublicKey: string }>(
      '/v1/room',
    );
    say(
      `room at ${url}\nsealing key (uploads are sealed to it): ${room.sealingPublicKey}\nsigning key (audit ` +
        `entries):         ${room.signingPublicKey}\nofficers' console: ${url}/console (sign in with ` +
        `${join(options.url ? 'fixtures' : workspace.directory, 'keys')}/acme-officer.key; it signs the same bytes ` +
        `as the approvals below)`,
    );

    step(
      3,
      'Officers of both members sign the policy content hash they reviewed (`accept --hash`): the collaboration ' +
        'becomes active',
    );
    for (const officer of ['acme-officer', 'northwind-officer'] as const) {
      const reviewed = (
        await ctx.client(officer).send<{ status: CollaborationStatus }>('GET', `/v1/collaborations/${COLLABORATION}`)
      ).status.policyHash;
      const status = await acceptCollaboration(ctx.client(officer), workspace.keys[officer], COLLABORATION, reviewed);
      const state = status.active ? 'active' : `awaiting ${status.awaiting.join(', ')}`;
      say(`${officer} signed ${status.policyHash.slice(0, 16)}… → ${state}`);
    }

    step(4, 'Providers encrypt their datasets on their own machines and stream them in');
    await uploadFixtures(ctx);

    let next = await demoQueries(ctx, 5);
    next = await demoDifferentialPrivacy(ctx, next);
    next = await demoPsi(ctx, next);
    next = await demoExtract(ctx, next);
    next = await demoModel(ctx, next);

    step(next, 'Anyone in the collaboration can export the audit chain and verify it offline');
    const { entries } = await verifyRemoteAudit(ctx.client('northwind-officer'), COLLABORATION);
    for (const e of entries.slice(-8)) say(`#${e.seq} ${e.actor.padEnd(18)} ${e.action}`);
    // The export as `cleanroom audit --out` writes it, checked from the file as `cleanroom audit-verify` does.
    const exported = join(workspace.directory, 'audit.ndjson');
    await writeFile(exported, auditExport(entries));
    const verdict = verifyAuditExport(
      await readFile(exported, 'utf8'),
      fromBase64(room.signingPublicKey, 32) ?? new Uint8Array(),
    );
    say(
      verdict.ok
        ? `exported ${verdict.entries} entries to ${exported}; chain verified offline against the room's signing key`
        : `CHAIN BROKEN at ${verdict.seq}: ${verdict.reason}`,
    );
    print('\nDemo complete.\n');
  } finally {
    await running?.stop();
    await executor?.stop();
    if (!options.url) await rm(workspace.directory, { recursive: true, force: true });
  }
}
