import { fromBase64 } from '../crypto/bytes.ts';
import { verify } from '../crypto/signatures.ts';
import { ConflictError, ForbiddenError, NotFoundError, UnprocessableError } from '../errors/cleanroom-error.ts';
import type { Collaboration, Principal } from '../policy/collaboration.ts';
import type { QueryReport } from '../query/query-plan.ts';
import {
  approvalSigningBytes,
  parameterTypes,
  templateHash,
  validateTemplateDocument,
  type TemplateDocument,
} from '../query/template.ts';
import { collaborationMismatch, invalidValue } from '../validation/json-validator.ts';
import { documentRefused } from '../errors/refused-error.ts';
import { planThroughParser, type PlannedQuery } from '../release/plan-query.ts';
import type { StateReader } from '../store/state-db.ts';
import { replaceReview, reviewsOf as storedReviewsOf } from '../store/state/template-reviews.ts';
import { latestTemplate, recordTemplate, templateNames } from '../store/state/templates.ts';
import { recordAudit } from './audit-trail.ts';
import { requireRole } from './require-role.ts';
import type { RoomServices } from './room-services.ts';

export interface TemplateReview {
  readonly member: string;
  readonly principal: string;
  readonly decision: 'approve' | 'reject';
  readonly reason: string | null;
  readonly reviewedAt: string;
}

/** A template of either kind as its reviewers see it: the document, its hash, who must approve, who did. */
export interface ReviewedTemplate<D> {
  readonly name: string;
  readonly hash: string;
  readonly document: D;
  readonly proposedBy: string;
  /** members whose data the template reads: an officer of each must approve this hash */
  readonly requiredMembers: readonly string[];
  readonly reviews: readonly TemplateReview[];
  readonly runnable: boolean;
}

export interface TemplateStatus extends ReviewedTemplate<TemplateDocument> {
  readonly report: QueryReport;
  readonly rewrittenSql: string;
}

/** The newest proposal under each name is the template; older hashes keep their history. */
async function latest(
  db: StateReader,
  collaboration: string,
  name: string,
): Promise<{ hash: string; document: TemplateDocument; proposedBy: string } | undefined> {
  const found = await latestTemplate(db, collaboration, name);
  return found
    ? { hash: found.hash, document: JSON.parse(found.document) as TemplateDocument, proposedBy: found.proposedBy }
    : undefined;
}

/** The template with the checker's report: what the officer reviews before signing. */
export async function templateStatus(
  services: RoomServices,
  collaboration: Collaboration,
  name: string,
): Promise<TemplateStatus> {
  return (await checkedTemplate(services, collaboration, name)).status;
}

/** The template's status and its threshold-mode plan (what an officer reviews). */
export async function checkedTemplate(
  services: RoomServices,
  collaboration: Collaboration,
  name: string,
): Promise<{ status: TemplateStatus; planned: PlannedQuery }> {
  const found = await latest(services.state, collaboration.id, name);
  if (!found)
    throw new NotFoundError('TEMPLATE_NOT_FOUND', `Collaboration "${collaboration.id}" has no template "${name}".`, {
      template: name,
    });
  const ctx = services.release;
  const planned = await planThroughParser(ctx, collaboration, found.document.sql, {
    adHoc: false,
    mode: 'threshold',
    parameterTypes: parameterTypes(found.document),
  });
  const requiredMembers = [
    ...new Set(planned.report.datasets.map((d) => collaboration.datasets.get(d)?.owner).filter((m) => m !== undefined)),
  ].sort();
  const reviews = await reviewsOf(services.state, collaboration.id, found.hash);
  const approved = new Set(reviews.filter((r) => r.decision === 'approve').map((r) => r.member));
  return {
    planned,
    status: {
      name,
      hash: found.hash,
      document: found.document,
      proposedBy: found.proposedBy,
      requiredMembers,
      reviews,
      runnable: requiredMembers.every((m) => approved.has(m)),
      report: planned.report,
      rewrittenSql: await ctx.parser.render(planned.tree, planned.parsed),
    },
  };
}

/** The current version of a template and who approved it, as a run needs it (the run plans it itself). */
export async function templateForRun(
  services: RoomServices,
  collaboration: Collaboration,
  name: string,
): Promise<{ name: string; hash: string; document: TemplateDocument; approvedBy: ReadonlySet<string> }> {
  const found = await latest(services.state, collaboration.id, name);
  if (!found)
    throw new NotFoundError('TEMPLATE_NOT_FOUND', `Collaboration "${collaboration.id}" has no template "${name}".`, {
      template: name,
    });
  const reviews = await reviewsOf(services.state, collaboration.id, found.hash);
  return {
    name,
    hash: found.hash,
    document: found.document,
    approvedBy: new Set(reviews.filter((r) => r.decision === 'approve').map((r) => r.member)),
  };
}

/** The reviews of a hash as members see them (the signatures stay in the audit chain). */
export async function reviewsOf(db: StateReader, collaborationId: string, hash: string): Promise<TemplateReview[]> {
  return (await storedReviewsOf(db, collaborationId, hash)).map((r) => ({
    member: r.member,
    principal: r.principal,
    decision: r.decision,
    reason: r.reason,
    reviewedAt: r.reviewedAt,
  }));
}

export async function listTemplates(services: RoomServices, collaboration: Collaboration): Promise<TemplateStatus[]> {
  const names = await templateNames(services.state, collaboration.id);
  return Promise.all(names.map((name) => templateStatus(services, collaboration, name)));
}

/** Stores a proposal after checking it passes the checker; a changed template needs new signatures. */
export async function proposeTemplate(
  services: RoomServices,
  collaboration: Collaboration,
  proposer: Principal | 'room',
  value: unknown,
): Promise<TemplateStatus> {
  if (proposer !== 'room') requireRole(proposer, 'analyst', 'propose a template');
  const checked = validateTemplateDocument(value);
  if (!checked.ok) throw documentRefused('TEMPLATE_INVALID', 'The template is invalid:', checked.diagnostics);
  const document = checked.value;
  const elsewhere = collaborationMismatch(document.collaboration, collaboration.id);
  if (elsewhere.length > 0) throw documentRefused('TEMPLATE_INVALID', 'The template is invalid:', elsewhere);
  const planned = await planThroughParser(services.release, collaboration, document.sql, {
    adHoc: false,
    mode: 'threshold',
    parameterTypes: parameterTypes(document),
  });
  const declared = new Set(Object.keys(document.parameters));
  const used = new Set(planned.report.parameters);
  const mismatch = [...used].filter((p) => !declared.has(p)).concat([...declared].filter((p) => !used.has(p)));
  if (mismatch.length > 0) {
    const problems = mismatch.map((p) =>
      invalidValue(
        `/parameters/${p}`,
        declared.has(p) ? 'is declared but the SQL never uses it' : `is used in the SQL as $${p} but not declared`,
        'declared parameters = $parameters in the SQL',
      ),
    );
    throw documentRefused(
      'TEMPLATE_INVALID',
      `Declared parameters and $parameters in the SQL differ: ${mismatch.join(', ')}.`,
      problems,
      { parameters: mismatch },
    );
  }
  const hash = templateHash(document);
  const actor = proposer === 'room' ? 'room' : proposer.id;
  await services.state.write(async (tx) => {
    const recorded = await recordTemplate(tx, {
      collaboration: collaboration.id,
      name: document.name,
      hash,
      document: JSON.stringify(document),
      proposedBy: actor,
      proposedAt: new Date().toISOString(),
    });
    if (!recorded) return;
    await recordAudit(services, tx, {
      collaboration: collaboration.id,
      actor,
      action: 'template.proposed',
      details: { template: document.name, hash, datasets: planned.report.datasets },
    });
  });
  return templateStatus(services, collaboration, document.name);
}

/** An officer signs approve or reject over the template's content hash (the current one only). */
export async function reviewTemplate(
  services: RoomServices,
  collaboration: Collaboration,
  officer: Principal,
  name: string,
  review: TemplateReviewRequest,
): Promise<TemplateStatus> {
  requireRole(officer, 'officer', 'review a template');
  const current = await templateStatus(services, collaboration, name);
  await recordReview(services, collaboration, officer, { kind: 'template', ...current }, review);
  return templateStatus(services, collaboration, name);
}

/**
 * Records an officer's signed review of a template's current hash (query or extract template: both
 * are signed the same way), with its audit entry, after checking the hash is current, the officer's
 * member owns data the template reads, a rejection says why, and the signature verifies.
 */
export async function recordReview(
  services: RoomServices,
  collaboration: Collaboration,
  officer: Principal,
  current: {
    kind: 'template' | 'extract_template' | 'model_template';
    name: string;
    hash: string;
    requiredMembers: readonly string[];
  },
  review: TemplateReviewRequest,
): Promise<void> {
  if (review.hash !== current.hash) {
    throw new ConflictError(
      'TEMPLATE_HASH_MISMATCH',
      'The template changed since you reviewed it; review the current hash.',
      { signedHash: review.hash, currentHash: current.hash },
    );
  }
  if (!current.requiredMembers.includes(officer.memberId)) {
    throw new ForbiddenError(
      'NOT_A_DATA_OWNER',
      `This template reads no data of ${officer.memberId}; its approval is not asked for.`,
      { requiredMembers: current.requiredMembers },
    );
  }
  if (review.decision === 'reject' && !review.reason?.trim())
    throw new UnprocessableError('REASON_REQUIRED', 'A rejection must say why.');
  const signature = fromBase64(review.signature, 64);
  if (
    !signature ||
    !verify(approvalSigningBytes(collaboration.id, review.hash, review.decision), signature, officer.publicKey)
  ) {
    throw new UnprocessableError(
      'REVIEW_BAD_SIGNATURE',
      "The review signature does not verify with the officer's key over this collaboration, hash and decision.",
    );
  }
  await services.state.write(async (tx) => {
    await replaceReview(tx, {
      collaboration: collaboration.id,
      templateHash: review.hash,
      member: officer.memberId,
      principal: officer.id,
      decision: review.decision,
      reason: review.reason ?? null,
      signature: review.signature,
      reviewedAt: new Date().toISOString(),
    });
    await recordAudit(services, tx, {
      collaboration: collaboration.id,
      actor: officer.id,
      action: `${current.kind}.${review.decision === 'approve' ? 'approved' : 'rejected'}`,
      details: {
        template: current.name,
        hash: review.hash,
        reason: review.reason ?? null,
        signature: review.signature,
      },
    });
  });
}

/**
 * What an officer sends to review a template: the hash they reviewed, their decision, and their signature over both.
 */
export interface TemplateReviewRequest {
  readonly hash: string;
  readonly decision: 'approve' | 'reject';
  readonly reason?: string;
  readonly signature: string;
}
