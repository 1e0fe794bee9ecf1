import { ConflictError } from '../errors/cleanroom-error.ts';
import { planDpAggregates, type RandomSource, releaseDpGroups, type DpPlan, type ExactAggregate, type ExactGroup, type PrivacyCost } from '../privacy/index.ts';
import type { Collaboration, Principal } from '../policy/collaboration.ts';
import { boundedDpSql } from '../query/dp-sql.ts';
import { evaluatePostProcessing, isAggregateCall, shapeKey } from '../query/dp-post-processing.ts';
import type { DpShape } from '../query/dp-shape.ts';
import type { QueryReport } from '../query/query-plan.ts';
import type { BoundParameter } from '../store/bound-parameters.ts';
import type { Cell } from '../store/result-values.ts';
import { chargeBudgets, refundBudgets } from './budget-ledger.ts';
import { isDataIndependentFailure, requireLoaded, runOnEngine } from './query-execution.ts';
import type { Room } from './room.ts';

export interface DpRequest {
  readonly epsilon: number;
  readonly delta?: number;
}

export interface DpPrivacyBlock {
  readonly mode: 'dp';
  readonly mechanism: 'laplace' | 'gaussian';
  readonly epsilonSpent: number;
  readonly deltaSpent: number;
  readonly remaining: Readonly<Record<string, PrivacyCost>>;
  readonly contribution: { readonly maxGroupsPerUnit: number; readonly maxRowsPerUnit: number };
  readonly partitionSelection: { readonly threshold: number; readonly epsilon: number; readonly delta: number } | null;
  /** per released column: the noise scale (Laplace b or Gaussian sigma) and a 95% interval half-width */
  readonly noise: Readonly<Record<string, { readonly scale: number; readonly ci95HalfWidth: number | null; readonly note?: string }>>;
  readonly policyHash: string;
}

/** The stricter of the owners' DP settings for the datasets a query reads. */
function settingsFor(collaboration: Collaboration, datasets: readonly string[], request: DpRequest) {
  const rules = datasets.map((d) => collaboration.datasets.get(d)?.rules.dp).filter((r) => r !== undefined);
  return {
    mechanism: rules.every((r) => r.mechanism === 'gaussian') ? 'gaussian' as const : 'laplace' as const,
    maxGroups: Math.min(...rules.map((r) => r.maxGroupsPerUnit)),
    maxRowsPerUnit: Math.min(...rules.map((r) => r.maxRowsPerUnit)),
    maxEpsilonPerQuery: Math.min(...rules.map((r) => r.maxEpsilonPerQuery ?? 1)),
    // An analyst may ask for less δ than the owners allow for partition selection, never more.
    maxDelta: Math.min(...rules.map((r) => r.partitionSelectionDelta ?? 1e-6)),
    delta: request.delta ?? Math.min(...rules.map((r) => r.partitionSelectionDelta ?? 1e-6)),
  };
}

/** Plans the noise from public parameters only (policy and the stated epsilon), before any data is read. */
export function planDp(collaboration: Collaboration, shape: DpShape, request: DpRequest): { plan: DpPlan; settings: ReturnType<typeof settingsFor> } {
  const settings = settingsFor(collaboration, shape.datasets, request);
  const global = shape.groupCount === 0;
  const plan = planDpAggregates({
    mechanism: settings.mechanism,
    epsilon: request.epsilon,
    delta: settings.delta,
    contribution: { maxGroups: global ? 1 : settings.maxGroups, maxRowsPerUnit: settings.maxRowsPerUnit },
    partitionSelection: !global,
    aggregates: shape.aggregates.map((a) => ({
      alias: a.alias, kind: a.kind,
      ...(a.metric ? { clamp: { lower: a.metric.clamp[0], upper: a.metric.clamp[1] }, metricType: a.metric.integer ? 'integer' as const : 'real' as const } : {}),
    })),
    limits: { maxEpsilonPerQuery: settings.maxEpsilonPerQuery, maxDeltaPerQuery: settings.maxDelta },
  });
  return { plan, settings };
}

/** The SQL the room runs for a DP query: the row-level SQL inside the contribution-bounding wrapper. */
export function dpSqlFor(rowSql: string, shape: DpShape, plan: DpPlan): string {
  return boundedDpSql(rowSql, shape, {
    maxGroups: plan.contribution.maxGroups,
    maxRowsPerUnit: plan.contribution.maxRowsPerUnit,
    grids: plan.aggregates.map((a) => (a.kind === 'sum' || a.kind === 'avg' ? a.input : undefined)),
  });
}

const exact = (cell: Cell | undefined): bigint => (typeof cell === 'number' ? BigInt(Math.round(cell)) : BigInt(String(cell ?? 0)));

function toGroups(rows: readonly (readonly Cell[])[], shape: DpShape): ExactGroup<number>[] {
  return rows.map((row, key) => {
    let at = shape.groupCount + 1;
    const values: Record<string, ExactAggregate> = {};
    for (const a of shape.aggregates) {
      if (a.kind === 'avg') {
        values[a.alias] = { sumSteps: exact(row[at]), count: exact(row[at + 1]) };
        at += 2;
      } else {
        values[a.alias] = exact(row[at]);
        at += 1;
      }
    }
    return { key, privacyUnits: Number(row[shape.groupCount] ?? 0), values };
  });
}

const compareCells = (a: readonly Cell[], b: readonly Cell[]): number => {
  for (let i = 0; i < a.length; i++) {
    const x = a[i] ?? null;
    const y = b[i] ?? null;
    if (x === y) continue;
    if (x === null) return -1;
    if (y === null) return 1;
    return x < y ? -1 : 1;
  }
  return 0;
};

/**
 * Runs a planned DP query: charge every budget (durably, before reading data), run the bounded
 * SQL, select partitions and add noise. A charge is refunded only when the engine never ran the
 * query (or the room shut down under it); any other failure could depend on the data.
 */
export async function runDpQuery(room: Room, collaboration: Collaboration, analyst: Principal, input: {
  shape: DpShape; rowSql: string; report: QueryReport; request: DpRequest; parameters: Record<string, BoundParameter>; params: Readonly<Record<string, unknown>>; limit?: number;
  template?: { name: string; hash: string; runnable: boolean }; sql: string | null; dryRun: boolean;
}) {
  const { plan, settings } = planDp(collaboration, input.shape, input.request);
  const sql = dpSqlFor(input.rowSql, input.shape, plan);
  if (input.dryRun) return { dryRun: true as const, rewrittenSql: sql, report: input.report, dp: {
    cost: plan.cost, mechanism: plan.mechanism, contribution: plan.contribution,
    aggregates: plan.aggregates.map((a) => ({ alias: a.alias, kind: a.kind, ...(a.kind === 'sum' || a.kind === 'avg' ? { clamp: [a.input.lower, a.input.upper], granularity: a.input.granularity } : {}) })),
  }, ...(input.template ? { template: input.template } : {}) };
  if (input.template && !input.template.runnable) {
    throw new ConflictError('TEMPLATE_NOT_APPROVED', `Template ${input.template.name} is not approved by an officer of every member whose data it reads.`, { template: input.template.name });
  }
  await requireLoaded(room, collaboration, input.shape.datasets);
  const cost = { epsilon: plan.cost.epsilonSpent, delta: plan.cost.deltaSpent };
  const { chargeId, remaining } = await chargeBudgets(room, collaboration, analyst.memberId, analyst.id, input.shape.datasets, cost);
  // Refunded only when the failure cannot depend on the data; otherwise a failing query would be a free question.
  const result = await runOnEngine(room, collaboration, sql, input.parameters, {
    actor: analyst.id, template: input.template?.name ?? null, sql: input.sql, params: input.params, mode: 'dp', chargeId,
  }, async (error) => {
    if (!isDataIndependentFailure(error)) return { refunded: false };
    await refundBudgets(room, collaboration.id, analyst.id, chargeId, (error as { code?: string }).code ?? 'query did not start');
    return { refunded: true };
  });
  const groupTypes: readonly { type: string }[] = result.columns;
  const released = noisyRelease(plan, result.rows, input.shape, room.randomSource);
  const limit = Math.min(input.limit ?? Number.POSITIVE_INFINITY, input.report.threshold.maxResultRows);
  const rows = released.rows.sort(compareCells).slice(0, limit);
  const noise: Record<string, { scale: number; ci95HalfWidth: number | null; note?: string }> = {};
  const label = (i: number) => {
    const a = input.shape.aggregates[i];
    return a?.kind === 'count' ? 'count(*)' : a?.kind === 'count_distinct_units' ? 'count(DISTINCT unit)' : `${a?.kind}(${a?.metric?.column ?? ''})`;
  };
  const spec = (i: number) => {
    const a = plan.aggregates[i];
    return a ? (a.kind === 'avg' ? a.sumNoise : a.noise) : undefined;
  };
  for (const o of input.shape.outputs) {
    if (o.kind !== 'value') continue;
    const first = o.aggregates[0];
    const bare = o.aggregates.length === 1 && first !== undefined && o.expression.class === 'FUNCTION' && isAggregateCall(o.expression);
    if (bare && plan.aggregates[first]?.kind !== 'avg') noise[o.name] = { scale: spec(first)?.scale ?? 0, ci95HalfWidth: spec(first)?.ci95HalfWidth ?? null };
    else {
      const parts = o.aggregates.map((i) => `${label(i)} ±${(spec(i)?.ci95HalfWidth ?? 0).toPrecision(3)}`);
      noise[o.name] = { scale: Math.max(0, ...o.aggregates.map((i) => spec(i)?.scale ?? 0)), ci95HalfWidth: null, note: `post-processing of noisy ${parts.join(', ')} (95% half-widths${o.aggregates.some((i) => plan.aggregates[i]?.kind === 'avg') ? '; an average is a noisy sum of (value - centre) over a noisy count' : ''})` };
    }
  }
  const privacy: DpPrivacyBlock = {
    mode: 'dp', mechanism: plan.mechanism, epsilonSpent: cost.epsilon, deltaSpent: cost.delta, remaining,
    contribution: { maxGroupsPerUnit: plan.contribution.maxGroups, maxRowsPerUnit: plan.contribution.maxRowsPerUnit },
    partitionSelection: plan.partitionSelection ? { threshold: Number(plan.partitionSelection.threshold), epsilon: plan.partitionSelection.epsilon, delta: plan.partitionSelection.delta } : null,
    noise, policyHash: collaboration.hash,
  };
  const entry = await room.state.write((tx) => room.audit(tx, {
    collaboration: collaboration.id, actor: analyst.id, action: 'query.run',
    details: {
      mode: 'dp', template: input.template?.name ?? null, templateHash: input.template?.hash ?? null, sql: input.sql, datasets: input.shape.datasets,
      chargeId, epsilon: cost.epsilon, delta: cost.delta, mechanism: settings.mechanism, rowsReleased: rows.length,
      groupsSuppressed: released.suppressed, policyHash: collaboration.hash,
    },
  }));
  const columns = input.shape.outputs.map((o) => ({ name: o.name, type: o.kind === 'group' ? (groupTypes[o.index]?.type ?? 'VARCHAR') : 'DOUBLE' }));
  return { dryRun: false as const, columns, rows, privacy, auditSeq: entry.seq, ...(input.template ? { template: { name: input.template.name, hash: input.template.hash } } : {}) };
}

/**
 * Partition selection and noise from the room's random source (the CSPRNG outside tests); group keys are read back from the rows that
 * survive, and each output is evaluated over the noisy aggregates (post-processing).
 */
function noisyRelease(plan: DpPlan, rows: readonly (readonly Cell[])[], shape: DpShape, random: RandomSource) {
  const release = releaseDpGroups(plan, toGroups(rows, shape), random);
  const out = release.groups.map((g) => shape.outputs.map((o) => {
    if (o.kind === 'group') return rows[g.key]?.[o.index] ?? null;
    const value = evaluatePostProcessing(o.expression, (aggregate) => {
      const alias = shape.aggregates[shape.aggregateKeys.indexOf(shapeKey(aggregate))]?.alias ?? '';
      return g.values[alias] ?? Number.NaN;
    });
    return Number.isFinite(value) ? value : null;
  }));
  return { rows: out, suppressed: release.suppressedCount };
}
