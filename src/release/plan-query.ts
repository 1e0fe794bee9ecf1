import { queryRefused } from '../errors/refused-error.ts';
import type { Collaboration } from '../policy/collaboration.ts';
import { planQuery, type PlanOptions, type QueryPlan } from '../query/query-plan.ts';
import type { ParsedSql } from '../query/sql-parser.ts';
import type { ReleaseContext } from './release-context.ts';

/** A checked and rewritten query, with the parse it came from (the renderer needs its parameters). */
export type PlannedQuery = Extract<QueryPlan, { ok: true }> & { readonly parsed: ParsedSql };

/** Datasets whose loaded table holds one row per privacy unit (the engine checks once per loaded version). */
export async function onePersonPerRow(ctx: ReleaseContext, collaboration: Collaboration): Promise<Set<string>> {
  const unique = new Set<string>();
  for (const dataset of collaboration.datasets.values()) {
    if (!ctx.engine.tableExists(collaboration.id, dataset.name)) continue;
    if (await ctx.engine.columnIsUnique(collaboration.id, dataset.name, dataset.rules.privacyUnit))
      unique.add(dataset.name);
  }
  return unique;
}

/**
 * parse (the engine's parser) → check → rewrite (pure). Runs nothing; a refusal is a RefusedError with every
 * diagnostic.
 */
export async function planThroughParser(
  ctx: ReleaseContext,
  collaboration: Collaboration,
  sql: string,
  options: Omit<PlanOptions, 'uniqueUnits'>,
): Promise<PlannedQuery> {
  const parsed = await ctx.parser.parse(sql);
  const plan = planQuery(collaboration, sql, parsed, {
    ...options,
    uniqueUnits: await onePersonPerRow(ctx, collaboration),
  });
  if (!plan.ok) throw queryRefused(plan.diagnostics);
  return { ...plan, parsed };
}
