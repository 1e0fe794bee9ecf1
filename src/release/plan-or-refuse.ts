import { RefusedError } from '../errors/refused-error.ts';
import type { PlanOptions } from '../query/query-plan.ts';
import { planThroughParser, type PlannedQuery } from './plan-query.ts';
import type { QueryToRun } from './query-to-run.ts';
import type { ReleaseContext } from './release-context.ts';

/** Plans the query; a refusal is audited (what was attempted, every diagnostic code) before it is answered. */
export async function planOrRefuse(
  ctx: ReleaseContext,
  q: QueryToRun,
  mode: PlanOptions['mode'],
): Promise<PlannedQuery> {
  try {
    return await planThroughParser(ctx, q.collaboration, q.sql, {
      adHoc: !q.template,
      mode,
      ...(q.template ? { parameterTypes: q.template.parameterTypes } : {}),
    });
  } catch (error) {
    if (error instanceof RefusedError) {
      await ctx.audit({
        collaboration: q.collaboration.id,
        actor: q.analyst.id,
        action: 'query.refused',
        details: {
          mode,
          template: q.template?.name ?? null,
          sql: q.template ? null : q.sql,
          codes: error.diagnostics.map((d) => d.code),
        },
      });
    }
    throw error;
  }
}
