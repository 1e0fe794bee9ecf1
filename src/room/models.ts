import { refuseIf } from '../errors/refused-error.ts';
import { residencyDiagnostics } from '../policy/residency.ts';
import {
  ConflictError,
  ForbiddenError,
  NotFoundError,
  UnavailableError,
  UnprocessableError,
} from '../errors/cleanroom-error.ts';
import { toCsv } from '../extract/extract-csv.ts';
import { scoringTree } from '../model/scoring.ts';
import {
  checkedModelTemplate,
  modelDatasets,
  modelTemplateHash,
  type ModelTemplateDocument,
} from '../model/model-template.ts';
import type { Collaboration, Principal } from '../policy/collaboration.ts';
import { modelCardDigest, modelCardSigningBytes, type ModelCard, type TrainedModel } from '../model/model-card.ts';
import { trainModel } from '../release/model-release.ts';
import { toBase64 } from '../crypto/bytes.ts';
import { keyedHashHex } from '../crypto/hashing.ts';
import { sign } from '../crypto/signatures.ts';
import { heldOtherThan, isDataIndependentFailure, replacedSince, tableGenerations } from '../release/run-on-engine.ts';
import { currentVersion } from '../store/state/dataset-versions.ts';
import { modelBySeq, modelsOf, recordModel } from '../store/state/models.ts';
import { recordAudit } from './audit-trail.ts';
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
 * The holdout split's salt: a room secret (keyed by its signing key) per collaboration and dataset,
 * so every model of a dataset holds out the same people and no member can compute which.
 */
export const holdoutSalt = (services: RoomServices, collaboration: string, dataset: string): string =>
  keyedHashHex(services.keys.signing.secretKey, `cleanroom-model-holdout-v1\n${collaboration}\n${dataset}`).slice(
    0,
    32,
  );

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
  onProgress?: (progress: TrainingProgress) => void | Promise<void>,
): Promise<ModelCard> {
  await requireActive(services, collaboration);
  requireRole(caller, 'modeler', 'train a model');
  const status = await datasetTemplateStatus(MODEL_TEMPLATES, services, collaboration, request.template);
  const template = checkedModelTemplate(status.document, collaboration);
  const read = modelDatasets(template).flatMap((name) => collaboration.datasets.get(name) ?? []);
  refuseIf(residencyDiagnostics(services.config.residency, read));
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
  // Read with the versions, before anything is known of the tables (one row per person) or read from them.
  const generations = tableGenerations(ctx, collaboration.id, names);
  const stated = new Map(names.map((name, i) => [name, versions[i]?.version]));
  // A version being swapped in now would refuse the model after training: refuse it before ε is spent.
  const settling = [
    ...new Set([...replacedSince(ctx, collaboration.id, generations), ...heldOtherThan(ctx, collaboration.id, stated)]),
  ];
  if (settling.length > 0)
    throw new ConflictError(
      'DATASET_CHANGED_DURING_TRAINING',
      `A new version of ${settling.join(', ')} is being loaded: nothing was read or charged; train again.`,
      { datasets: settling },
    );
  // Every dataset the feature view reads pays: a joined person's features move the model as much as a row.
  const charge = template.dp
    ? await ctx.ledger.charge(collaboration, caller.memberId, caller.id, names, {
        epsilon: template.dp.epsilon,
        delta: template.dp.delta ?? 0,
      })
    : undefined;
  let model: TrainedModel;
  try {
    model = await trainModel(ctx, collaboration, dataset, template, {
      splitSalt: holdoutSalt(services, collaboration.id, dataset.name),
      onPass: (pass, stage) => onProgress?.({ stage, pass }),
    });
    // Each pass reads the live tables: a version uploaded meanwhile would mix two datasets in one model.
    const after = await Promise.all(names.map((name) => currentVersion(services.state, collaboration.id, name)));
    const changed = [
      ...new Set([
        ...names.filter((_, i) => after[i]?.version !== versions[i]?.version),
        ...replacedSince(ctx, collaboration.id, generations),
        ...heldOtherThan(ctx, collaboration.id, stated),
      ]),
    ];
    if (changed.length > 0)
      throw new ConflictError(
        'DATASET_CHANGED_DURING_TRAINING',
        `${changed.join(', ')} changed while the model trained: nothing is released (the ε stays spent); train again.`,
        { datasets: changed },
      );
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
  const {
    coefficients: _coefficients,
    standardErrors: _standardErrors,
    people: _people,
    passes: _passes,
    metrics: _metrics,
    ...provenance
  } = described;
  // The audit entry, the signed card (which names that entry) and the stored model commit together.
  const signing = services.keys.signing;
  return services.state.write(async (tx) => {
    const entry = await recordAudit(services, tx, {
      collaboration: collaboration.id,
      actor: caller.id,
      action: 'model.trained',
      // What was trained, on what, how, for whom, and a digest of the card: never its coefficients,
      // counts or metrics (every member reads the chain; the card is the recipient's and the owners').
      details: {
        ...provenance,
        cardSha256: modelCardDigest(described),
        ...(charge ? { chargeId: charge.chargeId } : {}),
      },
    });
    const unsigned = { ...described, auditSeq: entry.seq };
    const card: ModelCard = {
      ...unsigned,
      signature: {
        signer: toBase64(signing.publicKey),
        value: toBase64(sign(modelCardSigningBytes(unsigned), signing.secretKey)),
      },
    };
    await recordModel(tx, {
      collaboration: collaboration.id,
      auditSeq: entry.seq,
      template: template.name,
      dataset: dataset.name,
      recipient: template.recipient,
      dp: card.dp !== null,
      card: JSON.stringify(card),
      createdAt: card.trainedAt,
    });
    return card;
  });
}

/** Who may read a card: principals of its recipient, and of the owner of any dataset it read. */
const mayRead = (card: ModelCard, caller: Principal, collaboration: Collaboration): boolean =>
  card.recipient === caller.memberId ||
  [card.dataset, ...(card.joined ?? []).map((j) => j.dataset)].some(
    (d) => collaboration.datasets.get(d)?.owner === caller.memberId,
  );

/** A stored model's card, if the caller may read it (else not found: its existence is not told). */
export async function getModel(
  services: RoomServices,
  collaboration: Collaboration,
  caller: Principal,
  seq: number,
): Promise<ModelCard> {
  const stored = await modelBySeq(services.state, collaboration.id, seq);
  const card = stored ? (JSON.parse(stored.card) as ModelCard) : undefined;
  if (!card || !mayRead(card, caller, collaboration))
    throw new NotFoundError('MODEL_NOT_FOUND', `Collaboration "${collaboration.id}" has no model #${seq} for you.`, {
      model: seq,
    });
  return card;
}

/** The cards of the models a principal may read: those sent to its member, and those trained on its member's data. */
export async function listModels(
  services: RoomServices,
  collaboration: Collaboration,
  caller: Principal,
): Promise<ModelCard[]> {
  const cards = (await modelsOf(services.state, collaboration.id)).map((m) => JSON.parse(m.card) as ModelCard);
  return cards.filter((card) => mayRead(card, caller, collaboration));
}

/** Per-row scores of a member's own dataset: its privacy unit and `score`, as CSV for that member only. */
export interface OwnScores {
  readonly csv: Uint8Array;
  readonly rows: number;
  readonly auditSeq: number;
}

/**
 * Scores the rows of a dataset with a model, inside the room, for the dataset's owner only: the
 * scores of one member's rows go to that member and no one else, and only with a DP-trained model
 * (its coefficients are then a DP release; scoring one's own rows with them is post-processing). Every
 * feature must be a column of that dataset itself (a joined feature is never looked up in another
 * member's rows). Audited as `model.scored`; nothing is charged.
 */
export async function scoreOwnRows(
  services: RoomServices,
  collaboration: Collaboration,
  caller: Principal,
  request: { model: number; dataset: string },
): Promise<OwnScores> {
  await requireActive(services, collaboration);
  requireRole(caller, 'analyst', 'score rows in the room');
  const card = await getModel(services, collaboration, caller, request.model);
  if (!card.dp)
    throw new ForbiddenError(
      'MODEL_NOT_DP',
      `Model #${request.model} was trained without differential privacy: only DP models score rows in the room.`,
      { model: request.model },
    );
  const dataset = collaboration.datasets.get(request.dataset);
  if (!dataset || dataset.owner !== caller.memberId)
    throw new ForbiddenError(
      'NOT_THE_OWNER',
      `Only the owner of "${request.dataset}" may have its rows scored: scores go to whoever owns the rows.`,
      { dataset: request.dataset },
    );
  // Scoring reads the dataset in the room: the same residency rule as queries, extracts and training.
  refuseIf(residencyDiagnostics(services.config.residency, [dataset]));
  const missing = card.features
    .filter((f) => f.encoding !== 'intercept')
    .map((f) => f.name)
    .filter((name, i, all) => all.indexOf(name) === i)
    .filter((name) => {
      const column = dataset.column.get(name);
      return !column || column.class === 'blocked';
    });
  if (missing.length > 0)
    throw new UnprocessableError(
      'MODEL_FEATURES_MISSING',
      `"${dataset.name}" has no usable column for the model's features ${missing.join(', ')}: the room scores ` +
        "a dataset's rows from that dataset's own columns only.",
      { dataset: dataset.name, columns: missing },
    );
  const version = await currentVersion(services.state, collaboration.id, dataset.name);
  if (!version || !services.engine.tableExists(collaboration.id, dataset.name))
    throw new ConflictError('DATASET_NOT_LOADED', `No version of ${dataset.name} has been uploaded yet.`, {
      datasets: [dataset.name],
    });
  const ctx = services.release;
  const unit = dataset.rules.privacyUnit;
  const tree = scoringTree(collaboration.id, dataset.name, unit, card);
  // The audit names the version the rows were read from: the state's may be ahead of the engine's while
  // an upload swaps its table in, and rows read across a swap are from neither version.
  const generations = tableGenerations(ctx, collaboration.id, [dataset.name]);
  const read = ctx.engine.liveVersion(collaboration.id, dataset.name) ?? version.version;
  const { rows } = await ctx.engine.query(await ctx.parser.render(tree), {});
  if (replacedSince(ctx, collaboration.id, generations).length > 0)
    throw new UnavailableError(
      'DATASET_CHANGED_DURING_SCORING',
      `A new version of ${dataset.name} was being loaded while its rows were scored: nothing is returned. ` +
        'Score again.',
      { datasets: [dataset.name] },
    );
  const csv = toCsv(
    [unit, 'score'],
    rows.map(([u, s]) => [u === null || u === undefined ? null : String(u), s === null ? null : Number(s)]),
    true,
  );
  const entry = await ctx.audit({
    collaboration: collaboration.id,
    actor: caller.id,
    action: 'model.scored',
    details: {
      model: request.model,
      template: card.template,
      dataset: dataset.name,
      dataVersion: read,
      rows: rows.length,
    },
  });
  return { csv, rows: rows.length, auditSeq: entry.seq };
}
