import { createHash } from 'node:crypto';
import { prometheusMetrics, type RoomMetrics } from '../metrics/room-metrics.ts';
import { chmod, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../log/logger.ts';
import { loadPolicies } from '../policy/load-policies.ts';
import { recordPolicyVersion } from '../store/state/policy-versions.ts';
import { sweepRetention } from './dataset-deletion.ts';
import { cryptoRandomSource, type RandomSource } from '../privacy/index.ts';
import { PsiMessageBudget } from '../psi/message-budget.ts';
import { PsiSessionRegistry } from '../psi/session-registry.ts';
import { PsiRoomCounter } from './psi-room-count.ts';
import { jsonSqlParser } from '../query/sql-parser.ts';
import { DataEngine } from '../store/data-engine.ts';
import { ClickHouseExecutor } from '../executor/clickhouse-executor.ts';
import { embeddedExecutor } from '../executor/query-executor.ts';
import { StateDb } from '../store/state-db.ts';
import { currentVersion } from '../store/state/dataset-versions.ts';
import { UploadSlots } from './upload-slots.ts';
import { StagingArea } from '../upload/staging-area.ts';
import { recordAudit } from './audit-trail.ts';
import { chargeBudgets, refundBudgets } from './budget-ledger.ts';
import { openPartialFile, type OpenPartialFile } from './ciphertext-tee.ts';
import { reloadDatasets } from './dataset-reload.ts';
import type { RoomConfig } from './room-config.ts';
import { loadMasterKey, loadRoomKeys } from './room-keys.ts';
import type { RoomServices } from './room-services.ts';
import { Room } from './room.ts';
import { loadTemplateFiles } from './template-files.ts';

/** Seams only tests replace. */
export interface RoomDependencies {
  readonly randomSource?: RandomSource;
  readonly openPartialFile?: OpenPartialFile;
  readonly metrics?: RoomMetrics;
}

/** A started room, and its services for trusted in-process callers (tests, benches) only: http gets `room`. */
export interface OpenedRoom {
  readonly room: Room;
  readonly internals: RoomServices;
}

/**
 * Makes every file this process creates from now on owner-only (the umask only ever gets stricter).
 * The room-state file's WAL holds the audit log with SQL text, and DuckDB creates it lazily on its
 * own threads at the first write after each checkpoint: a umask is the one setting that reaches a
 * file created at a moment we do not choose. Keys and envelopes also pass explicit modes.
 */
function ownerOnlyFiles(): void {
  const previous = process.umask(0o077);
  process.umask(previous | 0o077);
}

/**
 * The composition root: starts a room. Validates every policy first (a bad file is quarantined with
 * its problems, logged and reported by /v1/health; the others serve), then opens keys, the state
 * database, the staging area and the locked-down engine, wires the release stage to them, reloads
 * the stored datasets and registers sql/.
 */
export async function openRoom(
  config: RoomConfig,
  log: Logger,
  dependencies: RoomDependencies = {},
): Promise<OpenedRoom> {
  const { collaborations, quarantined } = await loadPolicies(config.policiesDirectory);
  for (const q of quarantined)
    log.error(
      { file: q.file, problems: q.problems },
      'policy file quarantined: its collaboration does not serve until the file is fixed',
    );
  ownerOnlyFiles();
  // The directory may predate the room (an operator's mkdir, an older version): its mode is ours to fix.
  await mkdir(config.dataDirectory, { recursive: true, mode: 0o700 });
  await chmod(config.dataDirectory, 0o700);
  await mkdir(join(config.dataDirectory, 'envelopes'), { recursive: true, mode: 0o700 });
  const masterKey = await loadMasterKey(config.dataDirectory, config.masterKey);
  const keys = await loadRoomKeys(config.dataDirectory, masterKey);
  const state = await StateDb.open(join(config.dataDirectory, 'room-state.duckdb'));
  const swept = await StagingArea.sweepStale();
  if (swept.removed.length > 0)
    log.warn({ removed: swept.removed }, 'removed staging directories of rooms that are no longer running');
  if (swept.ownerUnknown.length > 0) {
    log.warn(
      { directories: swept.ownerUnknown },
      'staging directories from an older version name no owner, so they were kept: delete them once no older room runs',
    );
  }
  const staging = await StagingArea.create();
  const engine = await DataEngine.open({ stagingDirectory: staging.directory, ...config.engine });
  const executor =
    config.executor.kind === 'clickhouse'
      ? await ClickHouseExecutor.open(
          {
            ...config.executor,
            statementTimeoutMs: config.engine.statementTimeoutMs,
            // The room's signing key names its copies (public, stable across restarts, one per room).
            roomId: createHash('sha256').update(keys.signing.publicKey).digest('hex').slice(0, 32),
          },
          engine,
          log,
        ).catch((error: unknown) => {
          engine.close();
          throw error;
        })
      : embeddedExecutor(engine);
  const randomSource = dependencies.randomSource ?? cryptoRandomSource;
  const services: RoomServices = {
    config,
    collaborations: new Map(collaborations.map((c) => [c.id, c])),
    quarantinedPolicies: quarantined,
    keys,
    state,
    engine,
    executor,
    staging,
    log,
    metrics: dependencies.metrics ?? prometheusMetrics(),
    startupProblems: { datasetsNotLoaded: [] },
    randomSource,
    psi: new PsiSessionRegistry(),
    psiCounter: new PsiRoomCounter(),
    psiUploads: new PsiMessageBudget(config.psiBodyBudgetBytes),
    uploadSlots: new UploadSlots(config.maxConcurrentUploads),
    openPartialFile: dependencies.openPartialFile ?? openPartialFile,
    release: {
      parser: jsonSqlParser(engine),
      engine,
      executor,
      ledger: {
        charge: (collaboration, member, actor, datasets, cost) =>
          chargeBudgets(services, collaboration, member, actor, datasets, cost),
        refund: (collaborationId, actor, chargeId, reason) =>
          refundBudgets(services, collaborationId, actor, chargeId, reason),
      },
      audit: (act) => state.write((tx) => recordAudit(services, tx, act)),
      dataVersions: async (collaborationId, datasets) => {
        const versions: Record<string, number> = {};
        for (const dataset of datasets)
          versions[dataset] = (await currentVersion(state, collaborationId, dataset))?.version ?? 0;
        return versions;
      },
      random: randomSource,
      log,
      residency: config.residency,
    },
  };
  const servedAt = new Date().toISOString();
  await state.write(async (tx) => {
    for (const c of collaborations)
      await recordPolicyVersion(tx, {
        collaboration: c.id,
        policyHash: c.hash,
        document: JSON.stringify(c.document),
        servedAt,
      });
  });
  const room = new Room(services);
  // Expired versions are deleted before anything is loaded from them.
  await sweepRetention(services);
  const reloaded = await reloadDatasets(services);
  // Copies of versions deleted while the room was down, or whose drop failed, go now.
  await executor
    .reconcile()
    .catch((error: unknown) =>
      log.error(
        { reason: (error as Error).message },
        'could not reconcile the query executor; the hourly sweep retries',
      ),
    );
  services.startupProblems.datasetsNotLoaded.push(...reloaded.failed);
  const templates = await loadTemplateFiles(services);
  log.info({ datasets: reloaded.loaded, failed: reloaded.failed, templates }, 'room ready');
  return { room, internals: services };
}
