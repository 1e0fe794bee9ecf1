import { queryRefused } from '../errors/refused-error.ts';
import type { Collaboration } from '../policy/collaboration.ts';
import { planQuery, type PlanOptions, type QueryPlan } from '../query/query-plan.ts';
import type { ParsedSql } from '../query/sql-parser.ts';
import type { ReleaseContext } from './release-context.ts';

/**
 * A checked and rewritten query, with the parse it came from (the renderer needs its parameters), and
 * what it was planned on: which datasets hold one row per person, and every loaded table's generation
 * (read before that answer), for runOnEngine to check after the run.
 */
export type PlannedQuery = Extract<QueryPlan, { ok: true }> & {
  readonly parsed: ParsedSql;
  /** the loaded datasets it was planned as holding one row per person */
  readonly uniqueUnits: ReadonlySet<string>;
  readonly generations: ReadonlyMap<string, number>;
  /** the version each loaded table held when planned, where its commit named one */
  readonly versions: ReadonlyMap<string, number>;
};

/**
 * Datasets whose loaded table holds one row per privacy unit (the engine checks once per loaded version),
 * and each loaded table's generation, read before its answer.
 */
export async function onePersonPerRow(
  ctx: ReleaseContext,
  collaboration: Collaboration,
): Promise<{ unique: Set<string>; generations: Map<string, number>; versions: Map<string, number> }> {
  const unique = new Set<string>();
  const generations = new Map<string, number>();
  const versions = new Map<string, number>();
  for (const dataset of collaboration.datasets.values()) {
    if (!ctx.engine.tableExists(collaboration.id, dataset.name)) continue;
    generations.set(dataset.name, ctx.engine.tableGeneration(collaboration.id, dataset.name));
    const version = ctx.engine.liveVersion(collaboration.id, dataset.name);
    if (version !== undefined) versions.set(dataset.name, version);
    if (await ctx.engine.columnIsUnique(collaboration.id, dataset.name, dataset.rules.privacyUnit))
      unique.add(dataset.name);
  }
  return { unique, generations, versions };
}

/**
 * The versions a statement read, for its audit entry: the version each table held when it was planned (the
 * run found its generation unchanged, so it read that table), or the state's where a commit named none.
 */
export async function versionsRead(
  ctx: ReleaseContext,
  collaborationId: string,
  planned: PlannedQuery,
  datasets: readonly string[],
): Promise<Readonly<Record<string, number>> | undefined> {
  const stated = await ctx.dataVersions?.(collaborationId, datasets);
  const held: Record<string, number> = {};
  for (const dataset of datasets) {
    const version = planned.versions.get(dataset) ?? stated?.[dataset];
    if (version !== undefined) held[dataset] = version;
  }
  return stated || planned.versions.size > 0 ? held : undefined;
}

/** The planned generations of the tables a statement reads (a swap of any other dataset is no concern of it). */
export function plannedGenerations(planned: PlannedQuery, datasets: readonly string[]): Map<string, number> {
  return new Map(datasets.map((dataset) => [dataset, planned.generations.get(dataset) ?? Number.NaN]));
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
  const { unique, generations, versions } = await onePersonPerRow(ctx, collaboration);
  const plan = planQuery(collaboration, sql, parsed, { ...options, uniqueUnits: unique });
  if (!plan.ok) throw queryRefused(plan.diagnostics);
  return { ...plan, parsed, uniqueUnits: unique, generations, versions };
}
