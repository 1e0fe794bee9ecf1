import { ConflictError, ForbiddenError } from '../errors/cleanroom-error.ts';
import { checkedModelTemplate, modelTemplateHash, type ModelTemplateDocument } from '../model/model-template.ts';
import type { Collaboration, Principal } from '../policy/collaboration.ts';
import { trainModel, type TrainedModel } from '../release/model-release.ts';
import { isDataIndependentFailure } from '../release/run-on-engine.ts';
import { currentVersion } from '../store/state/dataset-versions.ts';
import { datasetTemplateStatus, type DatasetTemplateKind } from './dataset-templates.ts';
import { requireActive } from './policy-acceptance.ts';
import { requireRole } from './require-role.ts';
import type { RoomServices } from './room-services.ts';
import type { ReviewedTemplate } from './template-registry.ts';

/** Model templates: stored, checked and reviewed by `dataset-templates.ts`. */
export const MODEL_TEMPLATES: DatasetTemplateKind<ModelTemplateDocument> = {
  table: 'model_templates',
  what: 'model template',
  action: 'model_template',
  check: checkedModelTemplate,
  hash: modelTemplateHash,
};

export type ModelTemplateStatus = ReviewedTemplate<ModelTemplateDocument>;

/**
 * The model card: what was trained on what, how, with which privacy, and its coefficients. It is
 * the whole release (recorded in the audit entry); scoring happens on the recipient's own machine.
 */
export interface ModelCard extends TrainedModel {
  readonly kind: 'cleanroom-model-card';
  readonly v: 1;
  readonly collaboration: string;
  readonly template: string;
  readonly templateHash: string;
  readonly dataset: string;
  readonly dataVersion: number;
  readonly policyHash: string;
  readonly recipient: string;
  readonly trainedBy: string;
  readonly trainedAt: string;
  readonly auditSeq: number;
}

/**
 * Trains an approved model template for its recipient's modeler: active policy, approval, recipient,
 * loaded data; the DP budget charged durably before the data is read (refunded only if the engine
 * never ran); training; the card audited as `model.trained`. A failure after the data was read keeps
 * the charge and is audited as `model.failed`.
 */
export async function trainModelTemplate(
  services: RoomServices,
  collaboration: Collaboration,
  caller: Principal,
  request: { template: string },
  onPass?: (pass: number) => void,
): Promise<ModelCard> {
  await requireActive(services, collaboration);
  requireRole(caller, 'modeler', 'train a model');
  const status = await datasetTemplateStatus(MODEL_TEMPLATES, services, collaboration, request.template);
  const template = checkedModelTemplate(status.document, collaboration);
  if (caller.memberId !== template.recipient)
    throw new ForbiddenError(
      'NOT_THE_RECIPIENT',
      `Model template "${template.name}" goes to ${template.recipient}; ${caller.memberId} cannot train it.`,
      { recipient: template.recipient },
    );
  if (!status.runnable)
    throw new ForbiddenError(
      'TEMPLATE_NOT_APPROVED',
      `Model template "${template.name}" (${status.hash.slice(0, 12)}) awaits approval by an officer of ` +
        `${status.requiredMembers.join(', ')}.`,
      { template: template.name, hash: status.hash, requiredMembers: status.requiredMembers },
    );
  const dataset = collaboration.datasets.get(template.dataset);
  const version = await currentVersion(services.state, collaboration.id, template.dataset);
  if (!dataset || !version || !services.engine.tableExists(collaboration.id, template.dataset))
    throw new ConflictError(
      'DATASET_NOT_LOADED',
      `No version of ${template.dataset} has been uploaded yet; the model reads it.`,
      { datasets: [template.dataset] },
    );
  const ctx = services.release;
  const charge = template.dp
    ? await ctx.ledger.charge(collaboration, caller.memberId, caller.id, [dataset.name], {
        epsilon: template.dp.epsilon,
        delta: template.dp.delta ?? 0,
      })
    : undefined;
  let model: TrainedModel;
  try {
    model = await trainModel(ctx, collaboration, dataset, template, onPass);
  } catch (error) {
    const refunded = charge !== undefined && isDataIndependentFailure(error);
    if (refunded) await ctx.ledger.refund(collaboration.id, caller.id, charge.chargeId, 'the engine never ran');
    await ctx.audit({
      collaboration: collaboration.id,
      actor: caller.id,
      action: 'model.failed',
      details: {
        template: template.name,
        templateHash: status.hash,
        dataset: dataset.name,
        errorClass: (error as { code?: string }).code ?? 'INTERNAL',
        ...(charge ? { chargeId: charge.chargeId, refunded } : {}),
      },
    });
    throw error;
  }
  const described = {
    kind: 'cleanroom-model-card' as const,
    v: 1 as const,
    collaboration: collaboration.id,
    template: template.name,
    templateHash: status.hash,
    dataset: dataset.name,
    dataVersion: version.version,
    policyHash: collaboration.hash,
    recipient: template.recipient,
    trainedBy: caller.id,
    trainedAt: new Date().toISOString(),
    ...model,
  };
  const entry = await ctx.audit({
    collaboration: collaboration.id,
    actor: caller.id,
    action: 'model.trained',
    details: { ...described, ...(charge ? { chargeId: charge.chargeId } : {}) },
  });
  return { ...described, auditSeq: entry.seq };
}
