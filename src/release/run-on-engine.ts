import { sha256Hex } from '../crypto/hashing.ts';
import { CleanroomError, ConflictError } from '../errors/cleanroom-error.ts';
import { refuseIf } from '../errors/refused-error.ts';
import type { Collaboration } from '../policy/collaboration.ts';
import { residencyDiagnostics } from '../policy/residency.ts';
import type { CheckedStatement } from '../executor/query-executor.ts';
import type { BoundParameter } from '../store/bound-parameters.ts';
import type { ResultTable } from '../store/result-values.ts';
import type { QueryToRun } from './query-to-run.ts';
import type { ReleaseContext } from './release-context.ts';

/**
 * Failures that cannot depend on the data: the engine never ran the statement, or the room shut
 * down under it. Only these give a DP charge back; a timeout, a memory limit or an engine error
 * after the data was read could answer a question about it, so that charge stands.
 */
export const isDataIndependentFailure = (error: unknown): boolean =>
  error instanceof CleanroomError &&
  (error.code === 'QUERY_NOT_STARTED' || error.code === 'QUERY_INTERRUPTED' || error.code === 'EXECUTOR_UNSUPPORTED');

/** Every dataset a query reads must be loaded, or the query is refused before anything is charged or run. */
/** Refuses, before anything is read or charged, a read of a dataset whose region the room may not process. */
export function requireResident(ctx: ReleaseContext, collaboration: Collaboration, datasets: readonly string[]): void {
  const declared = datasets.flatMap((name) => {
    const dataset = collaboration.datasets.get(name);
    return dataset ? [dataset] : [];
  });
  refuseIf(residencyDiagnostics(ctx.residency, declared));
}

export function requireLoaded(ctx: ReleaseContext, q: QueryToRun, datasets: readonly string[]): void {
  const missing = datasets.filter((dataset) => !ctx.engine.tableExists(q.collaboration.id, dataset));
  if (missing.length > 0) {
    throw new ConflictError(
      'DATASET_NOT_LOADED',
      `No version of ${missing.join(', ')} has been uploaded yet; the query reads it.`,
      { datasets: missing },
    );
  }
}

/**
 * Runs a checked statement on the room's executor (the embedded engine, or ClickHouse). On failure
 * the engine's own message (which can quote a stored value) goes to the operator's log only; the
 * analyst's answer names the class of failure, and the attempt is audited with the rewritten SQL's
 * hash, the parameters and that class. `onFailure` decides, before the audit entry, whether a DP
 * charge comes back.
 */
export async function runOnEngine(
  ctx: ReleaseContext,
  q: QueryToRun,
  statement: CheckedStatement,
  parameters: Readonly<Record<string, BoundParameter>>,
  attempt: { mode: 'threshold' | 'dp'; chargeId?: string },
  onFailure?: (error: unknown) => Promise<{ refunded: boolean }>,
): Promise<ResultTable> {
  try {
    return await ctx.executor.run(statement, parameters);
  } catch (error) {
    const code = error instanceof CleanroomError ? error.code : 'INTERNAL';
    const cause = error instanceof Error ? error.cause : undefined;
    const rewrittenSqlSha256 = sha256Hex(statement.sql);
    ctx.log.warn(
      {
        collaboration: q.collaboration.id,
        actor: q.analyst.id,
        code,
        rewrittenSqlSha256,
        executor: ctx.executor.name,
        engineMessage: cause instanceof Error ? cause.message : String(error),
      },
      'a checked query failed in the engine',
    );
    const { refunded } = onFailure ? await onFailure(error) : { refunded: false };
    await ctx.audit({
      collaboration: q.collaboration.id,
      actor: q.analyst.id,
      action: 'query.failed',
      details: {
        mode: attempt.mode,
        template: q.template?.name ?? null,
        sql: q.template ? null : q.sql,
        rewrittenSqlSha256,
        params: q.params,
        errorClass: code,
        ...(attempt.chargeId ? { chargeId: attempt.chargeId, refunded } : {}),
      },
    });
    throw error;
  }
}
