import { UnprocessableError } from '../errors/cleanroom-error.ts';
import type { Collaboration } from '../policy/collaboration.ts';
import type { Diagnostic } from '../query/diagnostics.ts';
import { planQuery, type QueryPlan } from '../query/query-plan.ts';
import { treeToJson, type SerializedSql } from '../query/sql-tree.ts';
import type { SqlType } from '../query/sql-types.ts';
import type { Room } from './room.ts';

/** A query the checker refused: every diagnostic, with rule, column and position. */
export class QueryRefusedError extends UnprocessableError {
  constructor(readonly diagnostics: readonly Diagnostic[]) {
    const first = diagnostics[0];
    super('QUERY_REFUSED', `The query was refused: ${first?.message ?? 'it breaks a rule'}${diagnostics.length > 1 ? ` (and ${diagnostics.length - 1} more)` : ''}`, { diagnostics });
  }
}

/** Datasets whose loaded table has one row per privacy unit (checked once per loaded version). */
async function uniqueUnits(room: Room, collaboration: Collaboration): Promise<Set<string>> {
  const unique = new Set<string>();
  for (const dataset of collaboration.datasets.values()) {
    if (!room.engine.tableExists(collaboration.id, dataset.name)) continue;
    if (await room.engine.columnIsUnique(collaboration.id, dataset.name, dataset.rules.privacyUnit)) unique.add(dataset.name);
  }
  return unique;
}

/**
 * DuckDB's JSON of the parse tree. A DOUBLE constant past the range of doubles (1e400) comes out
 * as the bare token Infinity, which is not JSON: such a query is refused, not a 500.
 */
function parseTree(json: string): SerializedSql & { statements?: { node: unknown }[] } {
  try {
    return JSON.parse(json) as SerializedSql & { statements?: { node: unknown }[] };
  } catch {
    throw new QueryRefusedError([{ code: 'CONSTRUCT_NOT_ALLOWED', rule: 'single SELECT', message: 'The query holds a number past the range of DOUBLE (such as 1e400), which the room cannot represent.' }]);
  }
}

export type PlannedQuery = Extract<QueryPlan, { ok: true }> & { readonly sql: string };

/**
 * Parses with DuckDB's own parser, checks and rewrites (pure), and turns the rewritten tree back
 * into SQL with DuckDB. Runs nothing.
 */
export async function planAndRender(room: Room, collaboration: Collaboration, sql: string, adHoc: boolean, mode: 'threshold' | 'dp' = 'threshold', parameterTypes?: ReadonlyMap<string, SqlType>): Promise<PlannedQuery> {
  const serialized = parseTree(await room.engine.serialize(sql));
  // Only the threshold rewrite uses uniqueness; DP plans skip the lookups.
  const unique = mode === 'threshold' ? await uniqueUnits(room, collaboration) : new Set<string>();
  const plan = planQuery(collaboration, sql, serialized, { adHoc, mode, uniqueUnits: unique, ...(parameterTypes ? { parameterTypes } : {}) });
  if (!plan.ok) throw new QueryRefusedError(plan.diagnostics);
  const rendered = await room.engine.deserialize(treeToJson({ ...serialized, statements: [{ ...serialized.statements?.[0], node: plan.tree }] }));
  return { ...plan, sql: rendered };
}
