import { resolve } from 'node:path';
import type { ClickHouseExecutorConfig } from '../executor/clickhouse-executor.ts';
import type { Residency } from '../policy/residency.ts';

/**
 * Where releases run: the embedded DuckDB, or ClickHouse as `ClickHouseExecutorConfig` describes it
 * (the statement timeout comes from the engine's, the room's id from its signing key).
 */
export type ExecutorConfig =
  | { readonly kind: 'duckdb' }
  | ({ readonly kind: 'clickhouse' } & Omit<ClickHouseExecutorConfig, 'statementTimeoutMs' | 'roomId'>);

/**
 * CLEANROOM_EXECUTOR=duckdb (default) or clickhouse, with CLEANROOM_CLICKHOUSE_URL, _USER, _PASSWORD (the
 * user that loads), _READER_USER, _READER_PASSWORD (the user that runs queries; default the same one),
 * _DATABASE (default cleanroom), _CLUSTER and _STORAGE_POLICY.
 */
export function executorFromEnv(env: NodeJS.ProcessEnv): ExecutorConfig {
  const kind = env.CLEANROOM_EXECUTOR ?? 'duckdb';
  if (kind === 'duckdb') return { kind };
  if (kind !== 'clickhouse') throw new Error(`CLEANROOM_EXECUTOR must be duckdb or clickhouse, not "${kind}"`);
  const url = env.CLEANROOM_CLICKHOUSE_URL;
  if (!url) throw new Error('CLEANROOM_EXECUTOR=clickhouse needs CLEANROOM_CLICKHOUSE_URL');
  return {
    kind,
    url,
    ...(env.CLEANROOM_CLICKHOUSE_USER ? { username: env.CLEANROOM_CLICKHOUSE_USER } : {}),
    ...(env.CLEANROOM_CLICKHOUSE_PASSWORD ? { password: env.CLEANROOM_CLICKHOUSE_PASSWORD } : {}),
    ...(env.CLEANROOM_CLICKHOUSE_READER_USER
      ? {
          reader: {
            username: env.CLEANROOM_CLICKHOUSE_READER_USER,
            ...(env.CLEANROOM_CLICKHOUSE_READER_PASSWORD ? { password: env.CLEANROOM_CLICKHOUSE_READER_PASSWORD } : {}),
          },
        }
      : {}),
    database: env.CLEANROOM_CLICKHOUSE_DATABASE ?? 'cleanroom',
    ...(env.CLEANROOM_CLICKHOUSE_CLUSTER ? { cluster: env.CLEANROOM_CLICKHOUSE_CLUSTER } : {}),
    ...(env.CLEANROOM_CLICKHOUSE_STORAGE_POLICY ? { storagePolicy: env.CLEANROOM_CLICKHOUSE_STORAGE_POLICY } : {}),
  };
}

/** Everything a room needs to start. `embeddedDefaults` is what `npm start` and the demo use. */
export interface RoomConfig {
  readonly dataDirectory: string;
  readonly policiesDirectory: string;
  readonly templatesDirectory: string;
  /** base64 32-byte key; when absent a 0600 key file in the data directory is used */
  readonly masterKey?: string;
  readonly maxUploadBytes: number;
  /** an upload whose body sends nothing for this long is refused (Node's own 5-minute whole-request limit is off) */
  readonly uploadIdleTimeoutMs: number;
  /** uploads that load at once, room-wide (one per member in any case); below libuv's thread pool */
  readonly maxConcurrentUploads: number;
  /** Parquet plaintext is held in memory until the upload authenticates; this bounds it */
  readonly maxParquetBytes: number;
  readonly maxJsonBytes: number;
  readonly signatureWindowMs: number;
  /** PSI message bytes the relay reads at once, over every session (see PsiMessageBudget). */
  readonly psiBodyBudgetBytes: number;
  readonly engine: { readonly memoryLimit: string; readonly threads: number; readonly statementTimeoutMs: number };
  /** where the room runs and the regions whose datasets it may process (uploads, queries, extracts, models) */
  readonly residency: Residency;
  /**
   * Where threshold and DP queries run (issue #15): the embedded engine (default), or a ClickHouse
   * server or cluster that holds a copy of every committed dataset version (docs/clickhouse.md).
   */
  readonly executor: ExecutorConfig;
  /** a bearer token for GET /v1/metrics; without one only loopback callers may read it */
  readonly metricsToken?: string;
}

export function embeddedDefaults(
  overrides: Partial<RoomConfig> = {},
  env: NodeJS.ProcessEnv = process.env,
): RoomConfig {
  return {
    dataDirectory: resolve(env.CLEANROOM_DATA_DIR ?? 'data'),
    policiesDirectory: resolve(env.CLEANROOM_POLICIES_DIR ?? 'policies'),
    templatesDirectory: resolve(env.CLEANROOM_SQL_DIR ?? 'sql'),
    masterKey: env.CLEANROOM_MASTER_KEY,
    maxUploadBytes: Number(env.CLEANROOM_MAX_UPLOAD_BYTES ?? 8 * 1024 ** 3),
    uploadIdleTimeoutMs: Number(env.CLEANROOM_UPLOAD_IDLE_TIMEOUT_MS ?? 60_000),
    maxConcurrentUploads: Number(env.CLEANROOM_MAX_CONCURRENT_UPLOADS ?? 2),
    maxParquetBytes: Number(env.CLEANROOM_MAX_PARQUET_BYTES ?? 1024 ** 3),
    maxJsonBytes: 1024 * 1024,
    signatureWindowMs: 5 * 60 * 1000,
    // Three of the largest PSI messages (~80 MB each) or seven 1M-element ones at once.
    psiBodyBudgetBytes: Number(env.CLEANROOM_PSI_BODY_BUDGET_BYTES ?? 512 * 1024 ** 2),
    engine: {
      memoryLimit: env.CLEANROOM_MEMORY_LIMIT ?? '8GB',
      threads: Number(env.CLEANROOM_THREADS ?? 2),
      statementTimeoutMs: Number(env.CLEANROOM_STATEMENT_TIMEOUT_MS ?? 30_000),
    },
    // The demo's datasets are declared in eu-west; an operator sets both for the room's real location.
    residency: {
      region: env.CLEANROOM_REGION ?? 'eu-west',
      processes: (env.CLEANROOM_PROCESSES_REGIONS ?? env.CLEANROOM_REGION ?? 'eu-west')
        .split(',')
        .map((r) => r.trim())
        .filter((r) => r.length > 0),
    },
    executor: overrides.executor ?? executorFromEnv(env),
    ...(env.CLEANROOM_METRICS_TOKEN ? { metricsToken: env.CLEANROOM_METRICS_TOKEN } : {}),
    ...overrides,
  };
}
