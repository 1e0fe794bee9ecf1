import { ConflictError, ForbiddenError } from '../errors/cleanroom-error.ts';
import type { Collaboration, Principal } from '../policy/collaboration.ts';
import type { QueryReport } from '../query/query-plan.ts';
import type { SqlType } from '../query/sql-types.ts';
import type { BoundParameter } from '../store/bound-parameters.ts';

/** A template as a run needs it: which version, who approved it, how its parameters are typed. */
export interface TemplateToRun {
  readonly name: string;
  readonly hash: string;
  /** members whose officer signed approve over this hash */
  readonly approvedBy: ReadonlySet<string>;
  readonly parameterTypes: ReadonlyMap<string, SqlType>;
}

/** One query an analyst asked for, as the room accepted the request (signature, role, active policy). */
export interface QueryToRun {
  readonly collaboration: Collaboration;
  readonly analyst: Principal;
  /** the SQL: the analyst's own, or the template's */
  readonly sql: string;
  readonly template?: TemplateToRun;
  /** parameters as bound for the engine, and as sent (for the audit log) */
  readonly parameters: Readonly<Record<string, BoundParameter>>;
  readonly params: Readonly<Record<string, unknown>>;
  readonly dryRun: boolean;
}

/** Only analysts of a member that every dataset read names as a result receiver get rows. */
export function requireReceiver(q: QueryToRun, report: QueryReport): void {
  const refusing = report.datasets.filter(
    (d) => !q.collaboration.datasets.get(d)?.rules.resultReceivers.includes(q.analyst.memberId),
  );
  if (refusing.length > 0) {
    throw new ForbiddenError(
      'NOT_A_RESULT_RECEIVER',
      `${q.analyst.memberId} is not a result receiver of ${refusing.join(', ')}.`,
      { datasets: refusing, rule: refusing.map((d) => `datasets.${d}.rules.resultReceivers`) },
    );
  }
}

/** The members whose officer has not yet approved this template version, of those whose data it reads. */
export function awaitingApproval(q: QueryToRun, report: QueryReport): string[] {
  const template = q.template;
  if (!template) return [];
  const owners = new Set(
    report.datasets.map((d) => q.collaboration.datasets.get(d)?.owner).filter((m) => m !== undefined),
  );
  return [...owners].filter((m) => !template.approvedBy.has(m)).sort();
}

/** A template runs only once an officer of every member whose data it reads approved this hash. */
export function requireApproved(q: QueryToRun, report: QueryReport): void {
  const missing = awaitingApproval(q, report);
  if (q.template && missing.length > 0) {
    throw new ConflictError(
      'TEMPLATE_NOT_APPROVED',
      `Template ${q.template.name} (${q.template.hash.slice(0, 12)}…) is not approved by an officer of every ` +
        `member whose data it reads (waiting for ${missing.join(', ')}).`,
      {
        template: q.template.name,
        hash: q.template.hash,
        awaiting: missing,
      },
    );
  }
}

/** A dry run of a template says which version it is and whether it would run now. */
export const dryRunTemplate = (q: QueryToRun, report: QueryReport) =>
  q.template
    ? { template: { name: q.template.name, hash: q.template.hash, runnable: awaitingApproval(q, report).length === 0 } }
    : {};

/** The template's name and hash for an answer or an audit entry. */
export const templateRef = (q: QueryToRun) =>
  q.template ? { template: { name: q.template.name, hash: q.template.hash } } : {};
