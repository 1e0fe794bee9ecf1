import { resolve } from 'node:path';

/** Everything a room needs to start. `embeddedDefaults` is what `npm start` and the demo use. */
export interface RoomConfig {
  readonly dataDirectory: string;
  readonly policiesDirectory: string;
  readonly templatesDirectory: string;
  /** base64 32-byte key; when absent a 0600 key file in the data directory is used */
  readonly masterKey?: string;
  readonly maxUploadBytes: number;
  /** Parquet plaintext is held in memory until the upload authenticates; this bounds it */
  readonly maxParquetBytes: number;
  readonly maxJsonBytes: number;
  readonly signatureWindowMs: number;
  /** PSI message bytes the relay reads at once, over every session (see PsiMessageBudget). */
  readonly psiBodyBudgetBytes: number;
  readonly engine: { readonly memoryLimit: string; readonly threads: number; readonly statementTimeoutMs: number };
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
    maxParquetBytes: Number(env.CLEANROOM_MAX_PARQUET_BYTES ?? 1024 ** 3),
    maxJsonBytes: 1024 * 1024,
    signatureWindowMs: 5 * 60 * 1000,
    // Three of the largest PSI messages (~80 MB each) or seven 1M-element ones at once.
    psiBodyBudgetBytes: Number(env.CLEANROOM_PSI_BODY_BUDGET_BYTES ?? 256 * 1024 ** 2),
    engine: {
      memoryLimit: env.CLEANROOM_MEMORY_LIMIT ?? '8GB',
      threads: Number(env.CLEANROOM_THREADS ?? 2),
      statementTimeoutMs: Number(env.CLEANROOM_STATEMENT_TIMEOUT_MS ?? 30_000),
    },
    ...overrides,
  };
}
