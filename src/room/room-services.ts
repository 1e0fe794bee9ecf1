import type { RoomMetrics } from '../metrics/room-metrics.ts';
import { join } from 'node:path';
import type { Logger } from '../log/logger.ts';
import type { QuarantinedPolicy } from '../policy/load-policies.ts';
import type { Collaboration } from '../policy/collaboration.ts';
import type { RandomSource } from '../privacy/index.ts';
import type { PsiMessageBudget } from '../psi/message-budget.ts';
import type { PsiSessionRegistry } from '../psi/session-registry.ts';
import type { ReleaseContext } from '../release/release-context.ts';
import type { QueryExecutor } from '../executor/query-executor.ts';
import type { DataEngine } from '../store/data-engine.ts';
import type { StateDb } from '../store/state-db.ts';
import type { StagingArea } from '../upload/staging-area.ts';
import type { OpenPartialFile } from './ciphertext-tee.ts';
import type { RoomConfig } from './room-config.ts';
import type { RoomKeys } from './room-keys.ts';
import type { UploadSlots } from './upload-slots.ts';
import type { PsiRoomCounter } from './psi-room-count.ts';

/**
 * The running room's parts, as `open-room.ts` wires them. The acts in this folder work over them;
 * `Room` keeps them private, so http and cli reach state only through its acts. Tests and benches
 * get them from `openRoom` to read raw data as an independent oracle; nothing in src/http or
 * src/cli may import this file.
 */
export interface RoomServices {
  readonly config: RoomConfig;
  readonly collaborations: ReadonlyMap<string, Collaboration>;
  /** policy files that did not validate: their collaborations do not serve */
  readonly quarantinedPolicies: readonly QuarantinedPolicy[];
  readonly keys: RoomKeys;
  readonly state: StateDb;
  readonly engine: DataEngine;
  /** where threshold and DP queries run: the embedded engine, or ClickHouse (room configuration) */
  readonly executor: QueryExecutor;
  readonly staging: StagingArea;
  /** PSI sessions live in memory only, for their session's life. */
  readonly psi: PsiSessionRegistry;
  /** Uploads loading at once: room-wide and one per member (see upload-slots.ts). */
  readonly uploadSlots: UploadSlots;
  /** Checks and counts room-counted PSI sessions in a worker thread (started on first use). */
  readonly psiCounter: PsiRoomCounter;
  /** PSI message bytes being received right now, bounded room-wide and to one message per session. */
  readonly psiUploads: PsiMessageBudget;
  readonly log: Logger;
  /** the operator's counters (GET /v1/metrics) */
  readonly metrics: RoomMetrics;
  /** what went wrong at start: stored dataset versions that could not be loaded (readiness reports them) */
  readonly startupProblems: { datasetsNotLoaded: string[] };
  /** Noise and partition selection draw from this; only tests pass anything but the CSPRNG. */
  readonly randomSource: RandomSource;
  /** Creates an upload's partial envelope; only tests pass anything else (a disk that fails). */
  readonly openPartialFile: OpenPartialFile;
  /** What the release paths (src/release) may use: parser, engine, ledger, audit, randomness, log. */
  readonly release: ReleaseContext;
}

/** Where an envelope file (a path relative to the envelope store) lives on disk. */
export const envelopePath = (services: RoomServices, file: string): string =>
  join(services.config.dataDirectory, 'envelopes', file);
