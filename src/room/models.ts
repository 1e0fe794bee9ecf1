import { ConflictError, ForbiddenError } from '../errors/cleanroom-error.ts';
import {
  checkedModelTemplate,
  modelDatasets,
  modelTemplateHash,
  type ModelTemplateDocument,
} from '../model/model-template.ts';
import type { Collaboration, Principal } from '../policy/collaboration.ts';
import { modelCardSigningBytes, type ModelCard, type TrainedModel } from '../model/model-card.ts';
import { trainModel } from '../release/model-release.ts';
import { toBase64 } from '../crypto/bytes.ts';
import { sign } from '../crypto/signatures.ts';
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
  datasets: modelDatasets,
};

export type ModelTemplateStatus = ReviewedTemplate<ModelTemplateDocument>;

/** What a training run reports as it goes: each pass over the training rows, then the holdout's. */
export interface TrainingProgress {
  readonly stage: 'training' | 'holdout';
  readonly pass: number;
}

export type { ModelCard } from '../model/model-card.ts';

/**
 * Trains an approved model template for its recipient's modeler: active policy, approval, recipient,
 * loaded data; the DP budget charged durably before the data is read (refunded only if the engine
 * never ran); training; the card audited as `model.trained`. A failure after the data was read keeps
 * the charge and is audited as `model.failed`. The card is signed by the room's key.
 */
export async function trainModelTemplate(
  services: RoomServices,
  collaboration: Collaboration,
  caller: Principal,
  request: { template: string },
  onProgress?: (progress: TrainingProgress) => void,
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
  const names = modelDatasets(template);
  const versions = await Promise.all(names.map((name) => currentVersion(services.state, collaboration.id, name)));
  const missing = names.filter((name, i) => !versions[i] || !services.engine.tableExists(collaboration.id, name));
  const dataset = collaboration.datasets.get(template.dataset);
  if (!dataset || missing.length > 0)
    throw new ConflictError(
      'DATASET_NOT_LOADED',
      `No version of ${missing.join(', ')} has been uploaded yet; the model reads it.`,
      { datasets: missing },
    );
  const ctx = services.release;
  // Every dataset the feature view reads pays: a joined person's features move the model as much as a row.
  const charge = template.dp
    ? await ctx.ledger.charge(collaboration, caller.memberId, caller.id, names, {
        epsilon: template.dp.epsilon,
        delta: template.dp.delta ?? 0,
      })
    : undefined;
  let model: TrainedModel;
  try {
    model = await trainModel(ctx, collaboration, dataset, template, (pass, stage) => onProgress?.({ stage, pass }));
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
    dataVersion: versions[0]?.version ?? 0,
    ...(names.length > 1
      ? { joined: names.slice(1).map((name, i) => ({ dataset: name, dataVersion: versions[i + 1]?.version ?? 0 })) }
      : {}),
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
  // Signed after the audit entry exists, so the signature covers where the release is recorded.
  const unsigned = { ...described, auditSeq: entry.seq };
  const signing = services.keys.signing;
  return {
    ...unsigned,
    signature: {
      signer: toBase64(signing.publicKey),
      value: toBase64(sign(modelCardSigningBytes(unsigned), signing.secretKey)),
    },
  };
}
