import type { Collaboration, Principal } from '../policy/collaboration.ts';
import { NotFoundError } from '../errors/cleanroom-error.ts';
import { latestTemplate, recordTemplate, templateNames, type TemplateTable } from '../store/state/templates.ts';
import { recordAudit } from './audit-trail.ts';
import { requireRole } from './require-role.ts';
import type { RoomServices } from './room-services.ts';
import { recordReview, reviewsOf, type ReviewedTemplate, type TemplateReviewRequest } from './template-registry.ts';

/**
 * A kind of template over one dataset (extracts, models): where it is stored, how a proposal is
 * checked against the policy, and what its audit entries are called. Proposed by a modeler (or
 * analyst) of any member, approved by an officer of each read dataset's owner, signed like query templates.
 */
export interface DatasetTemplateKind<D extends { name: string; dataset: string; recipient: string }> {
  readonly table: TemplateTable;
  /** "extract template": for messages */
  readonly what: string;
  /** "extract_template": the audit actions' prefix and the review's kind */
  readonly action: 'extract_template' | 'model_template';
  readonly check: (value: unknown, collaboration: Collaboration) => D;
  readonly hash: (document: D) => string;
  /** every dataset the template reads (the officers of all their owners approve); default: its own */
  readonly datasets?: (document: D) => readonly string[];
}

export async function datasetTemplateStatus<D extends { name: string; dataset: string; recipient: string }>(
  kind: DatasetTemplateKind<D>,
  services: RoomServices,
  collaboration: Collaboration,
  name: string,
): Promise<ReviewedTemplate<D>> {
  const found = await latestTemplate(services.state, collaboration.id, name, kind.table);
  if (!found)
    throw new NotFoundError(
      'TEMPLATE_NOT_FOUND',
      `Collaboration "${collaboration.id}" has no ${kind.what} "${name}".`,
      {
        template: name,
      },
    );
  const document = JSON.parse(found.document) as D;
  const owners = (kind.datasets?.(document) ?? [document.dataset]).map((d) => collaboration.datasets.get(d)?.owner);
  // A dataset the policy no longer declares has no owner to approve: nothing runs until the policy names one.
  const requiredMembers = owners.every((o) => o !== undefined) ? [...new Set(owners)] : [];
  const reviews = await reviewsOf(services.state, collaboration.id, found.hash);
  const approved = new Set(reviews.filter((r) => r.decision === 'approve').map((r) => r.member));
  return {
    name,
    hash: found.hash,
    document,
    proposedBy: found.proposedBy,
    requiredMembers,
    reviews,
    runnable: requiredMembers.length > 0 && requiredMembers.every((m) => approved.has(m)),
  };
}

export async function listDatasetTemplates<D extends { name: string; dataset: string; recipient: string }>(
  kind: DatasetTemplateKind<D>,
  services: RoomServices,
  collaboration: Collaboration,
): Promise<ReviewedTemplate<D>[]> {
  const names = await templateNames(services.state, collaboration.id, kind.table);
  return Promise.all(names.map((name) => datasetTemplateStatus(kind, services, collaboration, name)));
}

/** A modeler or analyst proposes; the document is checked against the policy before it is stored. */
export async function proposeDatasetTemplate<D extends { name: string; dataset: string; recipient: string }>(
  kind: DatasetTemplateKind<D>,
  services: RoomServices,
  collaboration: Collaboration,
  proposer: Principal,
  value: unknown,
): Promise<ReviewedTemplate<D>> {
  if (!proposer.roles.has('modeler')) requireRole(proposer, 'analyst', `propose an ${kind.what}`);
  const document = kind.check(value, collaboration);
  const hash = kind.hash(document);
  await services.state.write(async (tx) => {
    const recorded = await recordTemplate(
      tx,
      {
        collaboration: collaboration.id,
        name: document.name,
        hash,
        document: JSON.stringify(document),
        proposedBy: proposer.id,
        proposedAt: new Date().toISOString(),
      },
      kind.table,
    );
    if (!recorded) return;
    await recordAudit(services, tx, {
      collaboration: collaboration.id,
      actor: proposer.id,
      action: `${kind.action}.proposed`,
      details: { template: document.name, hash, dataset: document.dataset, recipient: document.recipient },
    });
  });
  return datasetTemplateStatus(kind, services, collaboration, document.name);
}

/** An officer of the dataset's owner signs approve or reject over the current hash. */
export async function reviewDatasetTemplate<D extends { name: string; dataset: string; recipient: string }>(
  kind: DatasetTemplateKind<D>,
  services: RoomServices,
  collaboration: Collaboration,
  officer: Principal,
  name: string,
  review: TemplateReviewRequest,
): Promise<ReviewedTemplate<D>> {
  requireRole(officer, 'officer', `review an ${kind.what}`);
  const current = await datasetTemplateStatus(kind, services, collaboration, name);
  await recordReview(services, collaboration, officer, { kind: kind.action, ...current }, review);
  return datasetTemplateStatus(kind, services, collaboration, name);
}
