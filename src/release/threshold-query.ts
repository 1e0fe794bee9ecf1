import { sha256Hex } from '../crypto/hashing.ts';
import { planOrRefuse } from './plan-or-refuse.ts';
import { plannedGenerations, versionsRead } from './plan-query.ts';
import { resultDigest, type QueryResponse } from './query-answer.ts';
import { dryRunTemplate, requireApproved, requireReceiver, templateRef, type QueryToRun } from './query-to-run.ts';
import type { ReleaseContext } from './release-context.ts';
import { requireLoaded, requireResident, runOnEngine } from './run-on-engine.ts';
import { releaseGroups } from './threshold-groups.ts';

/**
 * A threshold query, top to bottom: plan (check and rewrite; a refusal is audited) → authorise
 * (receivers, template approval) → run on the engine → release the groups that passed every
 * owner's thresholds and dominance rules, counting the others → audit.
 */
export async function runThresholdQuery(ctx: ReleaseContext, q: QueryToRun): Promise<QueryResponse> {
  const planned = await planOrRefuse(ctx, q, 'threshold');
  if (planned.mode !== 'threshold') throw new Error('a threshold plan was asked for');
  requireReceiver(q, planned.report);
  const sql = await ctx.parser.render(planned.tree, planned.parsed);
  if (q.dryRun)
    return { dryRun: true, rewrittenSql: sql, report: planned.report, ...dryRunTemplate(q, planned.report) };
  requireApproved(q, planned.report);
  requireResident(ctx, q.collaboration, planned.report.datasets);
  requireLoaded(ctx, q, planned.report.datasets);

  const result = await runOnEngine(ctx, q, { tree: planned.tree, sql }, q.parameters, {
    mode: 'threshold',
    generations: plannedGenerations(planned, planned.report.datasets),
  });

  const threshold = planned.report.threshold;
  const released = releaseGroups(
    result.rows,
    planned.outputCount,
    Math.min(planned.limit ?? Number.POSITIVE_INFINITY, threshold.maxResultRows),
  );

  const columns = result.columns.slice(0, planned.outputCount);
  const entry = await ctx.audit({
    collaboration: q.collaboration.id,
    actor: q.analyst.id,
    action: 'query.run',
    details: {
      template: q.template?.name ?? null,
      templateHash: q.template?.hash ?? null,
      sql: q.template ? null : q.sql,
      rewrittenSqlSha256: sha256Hex(sql),
      datasets: planned.report.datasets,
      params: q.params,
      dataVersions: await versionsRead(ctx, q.collaboration.id, planned, planned.report.datasets),
      minGroupSize: threshold.minGroupSize,
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
      mode: 'threshold',
      minGroupSize: threshold.minGroupSize,
      privacyUnits: threshold.privacyUnits,
      groupsSuppressed: released.suppressed,
      rowCap: threshold.maxResultRows,
      truncated: released.truncated,
      policyHash: q.collaboration.hash,
      rule: threshold.rule,
    },
    auditSeq: entry.seq,
    audit: entry,
    ...templateRef(q),
  };
}
