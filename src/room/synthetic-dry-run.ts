import { randomBytes } from 'node:crypto';
import { ForbiddenError } from '../errors/cleanroom-error.ts';
import type { Collaboration, Principal } from '../policy/collaboration.ts';
import { defaultParameters, SYNTHETIC_PEOPLE, syntheticTableSql } from '../query/synthetic-rows.ts';
import { bindParameters, parameterTypes } from '../query/template.ts';
import { planThroughParser } from '../release/plan-query.ts';
import { releaseGroups } from '../release/threshold-groups.ts';
import type { Cell } from '../store/result-values.ts';
import { recordAudit } from './audit-trail.ts';
import type { RoomServices } from './room-services.ts';
import { checkedTemplate } from './template-registry.ts';

/** What a synthetic dry run shows: the released shape of the template on made-up rows, and how they were made. */
export interface SyntheticDryRun {
  readonly template: string;
  readonly hash: string;
  readonly synthetic: { readonly people: number; readonly datasets: readonly string[]; readonly note: string };
  readonly params: Record<string, unknown>;
  readonly columns: readonly { name: string; type: string }[];
  readonly rows: readonly (readonly Cell[])[];
  readonly groupsSuppressed: number;
  readonly auditSeq: number;
}

/**
 * An officer's (or the proposer's) dry run of a query template on synthetic rows: the room builds
 * tables of the declared columns in a schema of their own (no stored row is read), plans the
 * template against them exactly as it would against the real ones (same checker, same rewrite, same
 * thresholds), runs it, releases the groups that pass, drops the schema, and audits the act.
 */
export async function syntheticDryRun(
  services: RoomServices,
  collaboration: Collaboration,
  caller: Principal,
  name: string,
  given: Record<string, unknown> = {},
): Promise<SyntheticDryRun> {
  const { status, planned: real } = await checkedTemplate(services, collaboration, name);
  const reviewer = caller.roles.has('officer') && status.requiredMembers.includes(caller.memberId);
  if (!reviewer && caller.id !== status.proposedBy)
    throw new ForbiddenError(
      'NOT_A_REVIEWER',
      `A dry run of "${name}" is for officers of ${status.requiredMembers.join(', ')} and its proposer.`,
      { requiredMembers: status.requiredMembers },
    );
  const params = defaultParameters(status.document, given);
  // Checked and bound exactly as a run binds them (a bad value is refused with its pointer).
  const bound = bindParameters(status.document, params);
  const schema = `__synthetic_${randomBytes(8).toString('hex')}`;
  // The same collaboration, read from the synthetic schema: the plan qualifies tables with this id.
  const synthetic: Collaboration = { ...collaboration, id: schema };
  const engine = services.engine;
  try {
    await engine.query(`CREATE SCHEMA "${schema}"`, {});
    for (const dataset of real.report.datasets) {
      const declared = collaboration.datasets.get(dataset);
      if (declared) await engine.query(syntheticTableSql(schema, declared, status.document), {});
    }
    const planned = await planThroughParser(services.release, synthetic, status.document.sql, {
      adHoc: false,
      mode: 'threshold',
      parameterTypes: parameterTypes(status.document),
    });
    if (planned.mode !== 'threshold') throw new Error('a threshold plan was asked for');
    const sql = await services.release.parser.render(planned.tree, planned.parsed);
    const result = await engine.query(sql, bound);
    const threshold = planned.report.threshold;
    const released = releaseGroups(
      result.rows,
      planned.outputCount,
      Math.min(planned.limit ?? Number.POSITIVE_INFINITY, threshold.maxResultRows),
    );
    const entry = await services.state.write((tx) =>
      recordAudit(services, tx, {
        collaboration: collaboration.id,
        actor: caller.id,
        action: 'template.dry_run',
        details: { template: name, hash: status.hash, synthetic: true, params, datasets: real.report.datasets },
      }),
    );
    return {
      template: name,
      hash: status.hash,
      synthetic: {
        people: SYNTHETIC_PEOPLE,
        datasets: real.report.datasets,
        note:
          'Made-up rows of the declared columns (no stored row was read): the released shape, the thresholds and ' +
          'the suppression at work, not real figures.',
      },
      params,
      columns: result.columns.slice(0, planned.outputCount),
      rows: released.rows,
      groupsSuppressed: released.suppressed,
      auditSeq: entry.seq,
    };
  } finally {
    await engine.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`, {}).catch(() => undefined);
  }
}
