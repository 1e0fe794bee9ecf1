import { sha256Hex } from '../crypto/hashing.ts';
import { CleanroomError, ConflictError } from '../errors/cleanroom-error.ts';
import type { Collaboration } from '../policy/collaboration.ts';
import type { BoundParameter } from '../store/bound-parameters.ts';
import type { ResultTable } from '../store/result-values.ts';
import type { Room } from './room.ts';

/**
 * Failures that cannot depend on the data: the engine never ran the statement, or the room shut
 * down under it. Only these give a DP charge back; a timeout, a memory limit or an engine error
 * after the data was read could answer a question about it, so that charge stands.
 */
export const isDataIndependentFailure = (error: unknown): boolean =>
  error instanceof CleanroomError && (error.code === 'QUERY_NOT_STARTED' || error.code === 'QUERY_INTERRUPTED');

/** Every dataset a query reads must be loaded, or the query is refused before anything is charged or run. */
export async function requireLoaded(room: Room, collaboration: Collaboration, datasets: readonly string[]): Promise<void> {
  const missing: string[] = [];
  for (const dataset of datasets) if (!room.engine.tableExists(collaboration.id, dataset)) missing.push(dataset);
  if (missing.length > 0) {
    throw new ConflictError('DATASET_NOT_LOADED', `No version of ${missing.join(', ')} has been uploaded yet; the query reads it.`, { datasets: missing });
  }
}

export interface FailedQuery {
  readonly actor: string;
  readonly template: string | null;
  readonly sql: string | null;
  readonly params: Readonly<Record<string, unknown>>;
  readonly mode: 'threshold' | 'dp';
  readonly chargeId?: string;
  readonly refunded?: boolean;
}

/**
 * Runs checked SQL on the engine. On failure the engine's own message (which can quote a stored
 * value) goes to the operator's log only; the analyst's answer names the class of failure, and the
 * attempt is audited with the rewritten SQL's hash, the parameters and that class.
 */
export async function runOnEngine(room: Room, collaboration: Collaboration, sql: string, parameters: Readonly<Record<string, BoundParameter>>, attempt: Omit<FailedQuery, 'refunded'>, onFailure?: (error: unknown) => Promise<{ refunded: boolean }>): Promise<ResultTable> {
  try {
    return await room.engine.query(sql, parameters);
  } catch (error) {
    const code = error instanceof CleanroomError ? error.code : 'INTERNAL';
    const cause = error instanceof Error ? error.cause : undefined;
    const rewrittenSqlSha256 = sha256Hex(sql);
    room.log.warn({ collaboration: collaboration.id, actor: attempt.actor, code, rewrittenSqlSha256, engineMessage: cause instanceof Error ? cause.message : String(error) }, 'a checked query failed in the engine');
    const { refunded } = onFailure ? await onFailure(error) : { refunded: false };
    await room.state.write((tx) => room.audit(tx, {
      collaboration: collaboration.id, actor: attempt.actor, action: 'query.failed',
      details: { mode: attempt.mode, template: attempt.template, sql: attempt.sql, rewrittenSqlSha256, params: attempt.params, errorClass: code, ...(attempt.chargeId ? { chargeId: attempt.chargeId, refunded } : {}) },
    }));
    throw error;
  }
}
