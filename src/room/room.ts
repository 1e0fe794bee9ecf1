import { chmod, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { AuditAct } from '../audit/audit-log.ts';
import type { AuditEntry } from '../audit/audit-entry.ts';
import { NonceCache } from '../auth/nonce-cache.ts';
import { ForbiddenError, NotFoundError } from '../errors/cleanroom-error.ts';
import type { Logger } from '../log/logger.ts';
import type { Collaboration, Principal } from '../policy/collaboration.ts';
import { loadPolicies } from '../policy/load-policies.ts';
import { cryptoRandomSource, type RandomSource } from '../privacy/index.ts';
import { PsiMessageBudget } from '../psi/message-budget.ts';
import { PsiSessionRegistry } from '../psi/session-registry.ts';
import { DataEngine } from '../store/data-engine.ts';
import { StateDb, type StateTx } from '../store/state-db.ts';
import { StagingArea } from '../upload/staging-area.ts';
import { openPartialFile, type OpenPartialFile } from './ciphertext-tee.ts';
import { jsonSqlParser } from '../query/sql-parser.ts';
import type { ReleaseContext } from '../release/release-context.ts';
import { recordAudit } from './audit-trail.ts';
import { chargeBudgets, refundBudgets } from './budget-ledger.ts';
import { reloadDatasets } from './dataset-reload.ts';
import { loadTemplateFiles } from './template-files.ts';
import type { RoomConfig } from './room-config.ts';
import { loadMasterKey, loadRoomKeys, type RoomKeys } from './room-keys.ts';

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
 * One running room: its keys, policies, state database, in-memory engine and staging area.
 * Feature modules in src/room take a Room and do one act each; http and cli call those.
 */
export class Room {
  readonly startedAt = Date.now();
  readonly nonces: NonceCache;
  /** PSI sessions live in memory only, for their session's life. */
  readonly psi = new PsiSessionRegistry();
  /** PSI message bytes being received right now, bounded room-wide and to one message per session. */
  readonly psiUploads: PsiMessageBudget;
  private readonly psiSweep: NodeJS.Timeout;
  private readonly keysByText: Set<string>;
  private release?: ReleaseContext;

  private constructor(
    readonly config: RoomConfig,
    readonly collaborations: ReadonlyMap<string, Collaboration>,
    readonly keys: RoomKeys,
    readonly state: StateDb,
    readonly engine: DataEngine,
    readonly staging: StagingArea,
    readonly log: Logger,
    /** Noise and partition selection draw from this; only tests pass anything but the CSPRNG. */
    readonly randomSource: RandomSource,
    /** Creates an upload's partial envelope; only tests pass anything else (a disk that fails). */
    readonly openPartialFile: OpenPartialFile,
  ) {
    this.nonces = new NonceCache(config.signatureWindowMs);
    this.psiUploads = new PsiMessageBudget(config.psiBodyBudgetBytes);
    this.keysByText = new Set([...collaborations.values()].flatMap((c) => [...c.principalsByKey.keys()]));
    this.psiSweep = setInterval(() => this.psi.sweep(), 30_000).unref();
  }

  /** Starts a room: validates every policy first, so a bad policy refuses the start with its problems. */
  static async open(config: RoomConfig, log: Logger, dependencies: { randomSource?: RandomSource; openPartialFile?: OpenPartialFile } = {}): Promise<Room> {
    const collaborations = await loadPolicies(config.policiesDirectory);
    ownerOnlyFiles();
    // The directory may predate the room (an operator's mkdir, an older version): its mode is ours to fix.
    await mkdir(config.dataDirectory, { recursive: true, mode: 0o700 });
    await chmod(config.dataDirectory, 0o700);
    await mkdir(join(config.dataDirectory, 'envelopes'), { recursive: true, mode: 0o700 });
    const masterKey = await loadMasterKey(config.dataDirectory, config.masterKey);
    const keys = await loadRoomKeys(config.dataDirectory, masterKey);
    const state = await StateDb.open(join(config.dataDirectory, 'room-state.duckdb'));
    const swept = await StagingArea.sweepStale();
    if (swept.removed.length > 0) log.warn({ removed: swept.removed }, 'removed staging directories of rooms that are no longer running');
    if (swept.ownerUnknown.length > 0) {
      log.warn({ directories: swept.ownerUnknown }, 'staging directories from an older version name no owner, so they were kept: delete them once no older room runs');
    }
    const staging = await StagingArea.create();
    const engine = await DataEngine.open({ stagingDirectory: staging.directory, ...config.engine });
    const room = new Room(config, new Map(collaborations.map((c) => [c.id, c])), keys, state, engine, staging, log,
      dependencies.randomSource ?? cryptoRandomSource, dependencies.openPartialFile ?? openPartialFile);
    const reloaded = await reloadDatasets(room);
    const templates = await loadTemplateFiles(room);
    log.info({ datasets: reloaded.loaded, failed: reloaded.failed, templates }, 'room ready');
    return room;
  }

  isKnownKey = (publicKeyText: string): boolean => this.keysByText.has(publicKeyText);

  collaboration(id: string): Collaboration {
    const found = this.collaborations.get(id);
    if (!found) throw new NotFoundError('COLLABORATION_NOT_FOUND', `There is no collaboration "${id}" in this room.`, { collaboration: id });
    return found;
  }

  /** The caller's principal in a collaboration; refuses keys of other collaborations. */
  principal(collaborationId: string, publicKeyText: string): Principal {
    const principal = this.collaboration(collaborationId).principalsByKey.get(publicKeyText);
    if (!principal) throw new ForbiddenError('NOT_A_MEMBER', `This key belongs to no principal of collaboration "${collaborationId}".`, { collaboration: collaborationId });
    return principal;
  }

  /** What the release paths (src/release) may use of this room: parser, engine, ledger, audit, randomness, log. */
  releaseContext(): ReleaseContext {
    this.release ??= {
      parser: jsonSqlParser(this.engine),
      engine: this.engine,
      ledger: {
        charge: (collaboration, member, actor, datasets, cost) => chargeBudgets(this, collaboration, member, actor, datasets, cost),
        refund: (collaborationId, actor, chargeId, reason) => refundBudgets(this, collaborationId, actor, chargeId, reason),
      },
      audit: (act) => this.state.write((tx) => this.audit(tx, act)),
      random: this.randomSource,
      log: this.log,
    };
    return this.release;
  }

  /** Appends to the audit chain inside the caller's transaction. */
  audit(tx: StateTx, act: AuditAct): Promise<AuditEntry> {
    return recordAudit(this, tx, act);
  }

  envelopePath(file: string): string {
    return join(this.config.dataDirectory, 'envelopes', file);
  }

  async close(): Promise<void> {
    clearInterval(this.psiSweep);
    this.engine.close();
    this.state.close();
    await this.staging.destroy();
  }
}
