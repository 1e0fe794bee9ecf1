import { sha256Hex } from '../crypto/hashing.ts';
import { ConflictError, ForbiddenError, InvalidInputError } from '../errors/cleanroom-error.ts';
import type { Collaboration, Principal } from '../policy/collaboration.ts';
import type { QueryReport } from '../query/query-plan.ts';
import { releaseGroups } from '../query/release-groups.ts';
import { bindParameters, parameterTypes } from '../query/template.ts';
import type { BoundParameter } from '../store/bound-parameters.ts';
import type { Cell } from '../store/result-values.ts';
import { requireActive } from './policy-acceptance.ts';
import { requireLoaded, runOnEngine } from './query-execution.ts';
import { QueryRefusedError, planAndRender, type PlannedQuery } from './query-planning.ts';
import type { Room } from './room.ts';
import { runDpQuery, type DpPrivacyBlock, type DpRequest } from './run-dp-query.ts';
import { checkedTemplate } from './template-registry.ts';

export interface QueryRequest {
  readonly sql?: string;
  readonly template?: string;
  readonly params?: Readonly<Record<string, unknown>>;
  readonly dryRun?: boolean;
  /** run in differential-privacy mode, paying epsilon (and delta) from the budgets */
  readonly dp?: DpRequest;
}

export interface PrivacyBlock {
  readonly mode: 'threshold';
  readonly minGroupSize: number;
  readonly privacyUnits: readonly string[];
  readonly groupsSuppressed: number;
  readonly rowCap: number;
  readonly truncated: boolean;
  readonly policyHash: string;
  readonly rule: string;
}

export type QueryResponse =
  | { readonly dryRun: true; readonly rewrittenSql: string; readonly report: QueryReport; readonly dp?: unknown; readonly template?: { name: string; hash: string; runnable: boolean } }
  | { readonly dryRun: false; readonly columns: readonly { name: string; type: string }[]; readonly rows: readonly (readonly (Cell | number)[])[]; readonly privacy: PrivacyBlock | DpPrivacyBlock; readonly auditSeq: number; readonly template?: { name: string; hash: string } };

/** Only analysts of a member every read dataset names as a result receiver get rows. */
function requireReceiver(collaboration: Collaboration, analyst: Principal, datasets: readonly string[]): void {
  const refusing = datasets.filter((d) => !collaboration.datasets.get(d)?.rules.resultReceivers.includes(analyst.memberId));
  if (refusing.length > 0) {
    throw new ForbiddenError('NOT_A_RESULT_RECEIVER', `${analyst.memberId} is not a result receiver of ${refusing.join(', ')}.`, { datasets: refusing, rule: refusing.map((d) => `datasets.${d}.rules.resultReceivers`) });
  }
}

/**
 * Runs an ad hoc query or an approved template: check and rewrite again at run time, run on the
 * locked-down engine, drop groups below the threshold, release to a permitted receiver, audit.
 * A refusal is audited too, so officers can see what was attempted.
 */
export async function runQuery(room: Room, collaboration: Collaboration, analyst: Principal, request: QueryRequest): Promise<QueryResponse> {
  room.requireRole(analyst, 'analyst', 'run queries');
  await requireActive(room, collaboration);
  if ((request.sql === undefined) === (request.template === undefined)) {
    throw new InvalidInputError('QUERY_REQUEST_INVALID', 'Send either "sql" (ad hoc) or "template" with "params".');
  }
  let planned: PlannedQuery;
  let parameters: Record<string, BoundParameter> = {};
  let template: { name: string; hash: string; runnable: boolean } | undefined;
  const sql = request.sql ?? '';
  const mode = request.dp ? 'dp' : 'threshold';
  try {
    if (request.template !== undefined) {
      const checked = await checkedTemplate(room, collaboration, request.template);
      const status = checked.status;
      template = { name: status.name, hash: status.hash, runnable: status.runnable };
      parameters = bindParameters(status.document, request.params ?? {});
      planned = mode === 'threshold' ? checked.planned : await planAndRender(room, collaboration, status.document.sql, false, mode, parameterTypes(status.document));
    } else {
      if (request.params && Object.keys(request.params).length > 0) throw new InvalidInputError('QUERY_REQUEST_INVALID', 'Parameters belong to templates; ad hoc SQL takes none.');
      planned = await planAndRender(room, collaboration, sql, true, mode);
    }
  } catch (error) {
    if (error instanceof QueryRefusedError) {
      await room.state.write((tx) => room.audit(tx, {
        collaboration: collaboration.id, actor: analyst.id, action: 'query.refused',
        details: { template: request.template ?? null, sql: request.sql ?? null, codes: error.diagnostics.map((d) => d.code) },
      }));
    }
    throw error;
  }
  requireReceiver(collaboration, analyst, planned.report.datasets);
  if (planned.mode === 'dp') {
    return runDpQuery(room, collaboration, analyst, {
      shape: planned.dp, rowSql: planned.sql, report: planned.report, request: request.dp as DpRequest, parameters, params: request.params ?? {}, sql: request.sql ?? null,
      dryRun: request.dryRun === true, ...(planned.limit !== undefined ? { limit: planned.limit } : {}), ...(template ? { template } : {}),
    });
  }
  if (request.dryRun) return { dryRun: true, rewrittenSql: planned.sql, report: planned.report, ...(template ? { template } : {}) };
  if (template && !template.runnable) {
    throw new ConflictError('TEMPLATE_NOT_APPROVED', `Template ${template.name} (${template.hash.slice(0, 12)}…) is not approved by an officer of every member whose data it reads.`, { template: template.name, hash: template.hash });
  }
  await requireLoaded(room, collaboration, planned.report.datasets);
  const result = await runOnEngine(room, collaboration, planned.sql, parameters, {
    actor: analyst.id, template: template?.name ?? null, sql: template ? null : sql, params: request.params ?? {}, mode: 'threshold',
  });
  const threshold = planned.report.threshold;
  const limit = Math.min(planned.limit ?? Number.POSITIVE_INFINITY, threshold.maxResultRows);
  const released = releaseGroups(result.rows, planned.outputCount, limit);
  const privacy: PrivacyBlock = {
    mode: 'threshold', minGroupSize: threshold.minGroupSize, privacyUnits: threshold.privacyUnits, groupsSuppressed: released.suppressed,
    rowCap: threshold.maxResultRows, truncated: released.truncated, policyHash: collaboration.hash, rule: threshold.rule,
  };
  const entry = await room.state.write((tx) => room.audit(tx, {
    collaboration: collaboration.id, actor: analyst.id, action: 'query.run',
    details: {
      template: template?.name ?? null, templateHash: template?.hash ?? null, sql: template ? null : sql, rewrittenSqlSha256: sha256Hex(planned.sql),
      datasets: planned.report.datasets, params: request.params ?? {}, rowsReleased: released.rows.length, groupsSuppressed: released.suppressed, policyHash: collaboration.hash,
    },
  }));
  return {
    dryRun: false,
    columns: result.columns.slice(0, planned.outputCount),
    rows: released.rows,
    privacy,
    auditSeq: entry.seq,
    ...(template ? { template: { name: template.name, hash: template.hash } } : {}),
  };
}
