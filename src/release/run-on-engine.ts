import { sha256Hex } from '../crypto/hashing.ts';
import { CleanroomError, ConflictError, UnavailableError } from '../errors/cleanroom-error.ts';
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
  (error.code === 'QUERY_NOT_STARTED' ||
    error.code === 'QUERY_INTERRUPTED' ||
    error.code === 'EXECUTOR_UNSUPPORTED' ||
    (error.code === 'DATASET_CHANGED_DURING_QUERY' && error.details.ran === false));

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

/** Each dataset's live-table generation now (DataEngine.tableGeneration), to compare after a release reads. */
export function tableGenerations(
  ctx: ReleaseContext,
  collaborationId: string,
  datasets: readonly string[],
): Map<string, number> {
  return new Map(datasets.map((dataset) => [dataset, ctx.engine.tableGeneration(collaborationId, dataset)]));
}

/**
 * The datasets whose live table does not hold the version the state names: an upload records its version
 * before the engine swaps the table in, so for a moment the two disagree (a release labelled with the new
 * version would describe the old table). A table committed without a version is not compared.
 */
export function heldOtherThan(
  ctx: ReleaseContext,
  collaborationId: string,
  versions: ReadonlyMap<string, number | undefined>,
): string[] {
  return [...versions]
    .filter(([dataset, version]) => {
      const live = ctx.engine.liveVersion(collaborationId, dataset);
      return live !== undefined && live !== version;
    })
    .map(([dataset]) => dataset);
}

/**
 * The datasets whose live table was replaced since `generations` were read. The state's version number
 * is not enough: an upload records it before the engine swaps the table in, so a release that began in
 * between reads one version number and two tables.
 */
export function replacedSince(
  ctx: ReleaseContext,
  collaborationId: string,
  generations: ReadonlyMap<string, number> = new Map(),
): string[] {
  return [...generations]
    .filter(([dataset, generation]) => ctx.engine.tableGeneration(collaborationId, dataset) !== generation)
    .map(([dataset]) => dataset);
}

/**
 * A version swapped in between a plan and the end of its run may not be the table the plan was made for
 * (hostile review: a plan that counted one person per row of the old version released a group of one
 * person's 60 rows from the new one). Nothing is released: the answer, or the failure, is thrown away.
 * Before the run starts nothing was read and a DP charge is given back; once it started the charge
 * stands, as for a timeout (a free run would still tell whether and how fast it would have answered).
 */
function changedUnder(ctx: ReleaseContext, q: QueryToRun, planned: ReadonlyMap<string, number>, ran: boolean) {
  const changed = replacedSince(ctx, q.collaboration.id, planned);
  return changed.length === 0
    ? undefined
    : new UnavailableError(
        'DATASET_CHANGED_DURING_QUERY',
        `A new version of ${changed.join(', ')} was being loaded ${
          ran ? 'while the query ran' : 'when the query ' + 'was to start'
        }: nothing is released${ran ? ' (a DP charge stands, as for a timeout)' : ' or charged'}. ` + 'Try again.',
        { datasets: changed, ran },
      );
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
  attempt: {
    mode: 'threshold' | 'dp';
    chargeId?: string;
    /** the generation of each table the statement reads, as it was planned (plannedGenerations) */
    generations: ReadonlyMap<string, number>;
  },
  onFailure?: (error: unknown) => Promise<{ refunded: boolean }>,
): Promise<ResultTable> {
  try {
    const before = changedUnder(ctx, q, attempt.generations, false);
    if (before) throw before;
    let result: ResultTable;
    try {
      result = await ctx.executor.run(statement, parameters);
    } catch (error) {
      // A failure of a run that never read is answered as it is; any other, on a changed version, is not.
      if (isDataIndependentFailure(error)) throw error;
      throw changedUnder(ctx, q, attempt.generations, true) ?? error;
    }
    const after = changedUnder(ctx, q, attempt.generations, true);
    if (after) throw after;
    return result;
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
