import { InvalidInputError } from '../errors/cleanroom-error.ts';
import type { Collaboration, Principal } from '../policy/collaboration.ts';
import { bindParameters, parameterTypes } from '../query/template.ts';
import type { DpRequest } from '../release/dp-noise-plan.ts';
import { runDpQuery } from '../release/dp-query.ts';
import type { QueryResponse } from '../release/query-answer.ts';
import type { QueryToRun } from '../release/query-to-run.ts';
import { runThresholdQuery } from '../release/threshold-query.ts';
import { requireActive } from './policy-acceptance.ts';
import { requireRole } from './require-role.ts';
import type { RoomServices } from './room-services.ts';
import { templateForRun } from './template-registry.ts';

export type { DpPrivacyBlock, PrivacyBlock, QueryResponse } from '../release/query-answer.ts';

export interface QueryRequest {
  readonly sql?: string;
  readonly template?: string;
  readonly params?: Readonly<Record<string, unknown>>;
  readonly dryRun?: boolean;
  /** run in differential-privacy mode, paying epsilon (and delta) from the budgets */
  readonly dp?: DpRequest;
}

/**
 * Accepts an analyst's query request (role, active policy, ad hoc SQL or a template with bound
 * parameters) and hands it to its release path: src/release/threshold-query.ts or dp-query.ts,
 * each of which reads plan → charge → run → release → audit.
 */
export async function runQuery(
  services: RoomServices,
  collaboration: Collaboration,
  analyst: Principal,
  request: QueryRequest,
): Promise<QueryResponse> {
  requireRole(analyst, 'analyst', 'run queries');
  await requireActive(services, collaboration);
  if ((request.sql === undefined) === (request.template === undefined)) {
    throw new InvalidInputError('QUERY_REQUEST_INVALID', 'Send either "sql" (ad hoc) or "template" with "params".');
  }
  let q: QueryToRun;
  if (request.template !== undefined) {
    const template = await templateForRun(services, collaboration, request.template);
    q = {
      collaboration,
      analyst,
      sql: template.document.sql,
      parameters: bindParameters(template.document, request.params ?? {}),
      params: request.params ?? {},
      dryRun: request.dryRun === true,
      template: {
        name: template.name,
        hash: template.hash,
        approvedBy: template.approvedBy,
        parameterTypes: parameterTypes(template.document),
      },
    };
  } else {
    if (request.params && Object.keys(request.params).length > 0)
      throw new InvalidInputError('QUERY_REQUEST_INVALID', 'Parameters belong to templates; ad hoc SQL takes none.');
    q = { collaboration, analyst, sql: request.sql ?? '', parameters: {}, params: {}, dryRun: request.dryRun === true };
  }
  const ctx = services.release;
  const started = performance.now();
  const answer = await (request.dp ? runDpQuery(ctx, q, request.dp) : runThresholdQuery(ctx, q));
  if (!('dryRun' in answer && answer.dryRun)) {
    services.metrics.queryRan(request.dp ? 'dp' : 'threshold', (performance.now() - started) / 1000);
    const suppressed = (answer as { privacy?: { groupsSuppressed?: number } }).privacy?.groupsSuppressed ?? 0;
    if (suppressed > 0) services.metrics.groupsSuppressed(collaboration.id, suppressed);
  }
  return answer;
}
