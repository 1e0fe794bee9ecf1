import { boundedDpTree } from '../query/rewrite/dp-bounding.ts';
import { child, fold, text, type SqlNode } from '../query/sql-tree.ts';
import { noiseReport, noisyGroups } from './noisy-groups.ts';
import { planDpNoise, type DpRequest } from './dp-noise-plan.ts';
import { planOrRefuse } from './plan-or-refuse.ts';
import { plannedGenerations, versionsRead } from './plan-query.ts';
import { resultDigest, type QueryResponse } from './query-answer.ts';
import { dryRunTemplate, requireApproved, requireReceiver, templateRef, type QueryToRun } from './query-to-run.ts';
import type { ReleaseContext } from './release-context.ts';
import { isDataIndependentFailure, requireLoaded, requireResident, runOnEngine } from './run-on-engine.ts';

/** One dataset read straight from its table (no join, no view), which holds one row per person. */
function readsOnlyTable(rowTree: SqlNode, unique: ReadonlySet<string>): boolean {
  const from = child(rowTree, 'from_table');
  return from?.type === 'BASE_TABLE' && unique.has(fold(text(from, 'table_name')));
}

/** A fresh key for the hash that picks which groups a person keeps; 53 bits, exact in JSON. */
const keyFrom = (ctx: ReleaseContext): number => Number(ctx.random.uniformBigInt(2n ** 53n));

/**
 * A DP query, top to bottom: plan (check, rewrite, DP shape; a refusal is audited) → plan the noise
 * from public parameters only → authorise → charge every budget, durably, before reading data →
 * run the contribution-bounded query → release (partition selection and noise) → audit. A charge is
 * refunded only when the engine never ran the query or the room shut down under it: any other
 * failure could depend on the data, and would make a failing query a free question.
 */
export async function runDpQuery(ctx: ReleaseContext, q: QueryToRun, request: DpRequest): Promise<QueryResponse> {
  const planned = await planOrRefuse(ctx, q, 'dp');
  if (planned.mode !== 'dp') throw new Error('a DP plan was asked for');
  const shape = planned.dp;
  const plan = planDpNoise(q.collaboration, shape, request);
  requireReceiver(q, planned.report);
  const tree = boundedDpTree(planned.tree, shape, {
    maxGroups: plan.contribution.maxGroups,
    maxRowsPerUnit: plan.contribution.maxRowsPerUnit,
    key: keyFrom(ctx),
    grids: plan.aggregates.map((a) => (a.kind === 'sum' || a.kind === 'avg' ? a.input : undefined)),
    onePersonPerRow: readsOnlyTable(planned.tree, planned.uniqueUnits),
  });
  const sql = await ctx.parser.render(tree, planned.parsed);
  if (q.dryRun) {
    return {
      dryRun: true,
      rewrittenSql: sql,
      report: planned.report,
      ...dryRunTemplate(q, planned.report),
      dp: {
        cost: plan.cost,
        mechanism: plan.mechanism,
        contribution: plan.contribution,
        aggregates: plan.aggregates.map((a) => ({
          alias: a.alias,
          kind: a.kind,
          ...(a.kind === 'sum' || a.kind === 'avg'
            ? { clamp: [a.input.lower, a.input.upper], granularity: a.input.granularity }
            : {}),
        })),
      },
    };
  }
  requireApproved(q, planned.report);
  requireResident(ctx, q.collaboration, shape.datasets);
  requireLoaded(ctx, q, shape.datasets);

  const cost = { epsilon: plan.cost.epsilonSpent, delta: plan.cost.deltaSpent };
  const { chargeId, remaining } = await ctx.ledger.charge(
    q.collaboration,
    q.analyst.memberId,
    q.analyst.id,
    shape.datasets,
    cost,
  );

  const attempt = { mode: 'dp', chargeId, generations: plannedGenerations(planned, shape.datasets) } as const;
  const result = await runOnEngine(ctx, q, { tree, sql }, q.parameters, attempt, async (error) => {
    if (!isDataIndependentFailure(error)) return { refunded: false };
    await ctx.ledger.refund(
      q.collaboration.id,
      q.analyst.id,
      chargeId,
      (error as { code?: string }).code ?? 'query did not start',
    );
    return { refunded: true };
  });

  const released = noisyGroups(
    plan,
    result.rows,
    shape,
    ctx.random,
    Math.min(planned.limit ?? Number.POSITIVE_INFINITY, planned.report.threshold.maxResultRows),
  );

  const columns = shape.outputs.map((o) => ({
    name: o.name,
    type: o.kind === 'group' ? (result.columns[o.index]?.type ?? 'VARCHAR') : 'DOUBLE',
  }));
  const entry = await ctx.audit({
    collaboration: q.collaboration.id,
    actor: q.analyst.id,
    action: 'query.run',
    details: {
      mode: 'dp',
      template: q.template?.name ?? null,
      templateHash: q.template?.hash ?? null,
      sql: q.template ? null : q.sql,
      datasets: shape.datasets,
      chargeId,
      epsilon: cost.epsilon,
      delta: cost.delta,
      mechanism: plan.mechanism,
      dataVersions: await versionsRead(ctx, q.collaboration.id, planned, shape.datasets),
      rowsReleased: released.rows.length,
      groupsSuppressed: released.suppressed,
      resultSha256: resultDigest(columns, released.rows),
      policyHash: q.collaboration.hash,
    },
  });
  return {
    dryRun: false,
    columns,
    rows: released.rows,
    privacy: {
      mode: 'dp',
      mechanism: plan.mechanism,
      epsilonSpent: cost.epsilon,
      deltaSpent: cost.delta,
      remaining,
      contribution: { maxGroupsPerUnit: plan.contribution.maxGroups, maxRowsPerUnit: plan.contribution.maxRowsPerUnit },
      partitionSelection: plan.partitionSelection
        ? {
            threshold: Number(plan.partitionSelection.threshold),
            epsilon: plan.partitionSelection.epsilon,
            delta: plan.partitionSelection.delta,
          }
        : null,
      noise: noiseReport(plan, shape),
      policyHash: q.collaboration.hash,
    },
    auditSeq: entry.seq,
    audit: entry,
    ...templateRef(q),
  };
}
