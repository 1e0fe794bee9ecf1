import { syntheticDryRun, type SyntheticDryRun } from './synthetic-dry-run.ts';
import { timingSafeEqual } from 'node:crypto';
import type { RoomMetrics } from '../metrics/room-metrics.ts';
import type { Residency } from '../policy/residency.ts';
import { deleteDataset, sweepRetention, type DatasetDeletion } from './dataset-deletion.ts';
import type { AuditEntry } from '../audit/audit-entry.ts';
import { NonceCache } from '../auth/nonce-cache.ts';
import { verifyRequest } from '../auth/verify-request.ts';
import { toBase64 } from '../crypto/bytes.ts';
import { ForbiddenError, NotFoundError } from '../errors/cleanroom-error.ts';
import type { QuarantinedPolicy } from '../policy/load-policies.ts';
import type { Collaboration, Principal } from '../policy/collaboration.ts';
import type { PsiReservation } from '../psi/message-budget.ts';
import { auditTrail } from './audit-trail.ts';
import {
  budgetReport,
  spendingOnOwnedDatasets,
  type DatasetBudget,
  type OwnedDatasetSpending,
} from './budget-ledger.ts';
import { datasetStatus, type DatasetStatus } from './dataset-status.ts';
import type { SearchProgress } from '../extract/lattice-search.ts';
import {
  EXTRACT_TEMPLATES,
  runExtract,
  sealedExtract,
  type ExtractAnswer,
  type ExtractTemplateStatus,
} from './extracts.ts';
import { admitUpload, uploadDataset, type UploadReceipt } from './dataset-upload.ts';
import {
  acceptPolicy,
  collaborationStatus,
  policyChangesSinceAcceptance,
  type CollaborationStatus,
  type PolicyChangesSinceAcceptance,
} from './policy-acceptance.ts';
import {
  admitPsiMessage,
  openPsi,
  listPsiSessions,
  cancelPsiSession,
  postPsiMessage,
  psiSession,
  readPsiMessage,
  readPsiResult,
  type PsiResultAnswer,
  type PsiMessageKind,
  type PsiSessionAnswer,
} from './psi-relay.ts';
import {
  getModel,
  listModels,
  MODEL_TEMPLATES,
  scoreOwnRows,
  trainModelTemplate,
  type OwnScores,
  type ModelCard,
  type ModelTemplateStatus,
  type TrainingProgress,
} from './models.ts';
import {
  datasetTemplateStatus,
  listDatasetTemplates,
  proposeDatasetTemplate,
  reviewDatasetTemplate,
} from './dataset-templates.ts';
import type { RoomServices } from './room-services.ts';
import { runQuery, type QueryRequest, type QueryResponse } from './run-query.ts';
import {
  listTemplates,
  proposeTemplate,
  reviewTemplate,
  templateStatus,
  type TemplateReviewRequest,
  type TemplateStatus,
} from './template-registry.ts';

/** The limits a client needs to know before it sends anything (published by GET /v1/room). */
export interface RoomLimits {
  readonly maxUploadBytes: number;
  readonly maxParquetBytes: number;
  readonly maxJsonBytes: number;
  readonly signatureWindowMs: number;
  readonly maxPsiMessageBytes: number;
}

/** A request as the signature check needs it. */
export interface SignedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
}

/**
 * One running room, as http and cli see it: who is who (collaborations, principals, request
 * signatures), what it publishes (public keys, limits), and its acts, each a function in this
 * folder over the room's services. The services themselves (state database, engine, staging, keys)
 * stay private: `open-room.ts` builds them and hands them only to trusted in-process callers.
 */
export class Room {
  /** Requests stamped before this are refused (the nonce cache is in memory); health counts uptime from it. */
  readonly startedAt = Date.now();
  readonly limits: RoomLimits;
  /** where the room runs and which regions' datasets it processes (published; stamped on every answer) */
  readonly residency: Residency;
  /** the operator's counters, which the HTTP shell feeds with requests and serves at /v1/metrics */
  readonly metrics: RoomMetrics;
  private readonly nonces: NonceCache;
  private readonly keysByText: ReadonlySet<string>;
  private readonly psiSweep: NodeJS.Timeout;
  private readonly retentionSweep: NodeJS.Timeout;

  constructor(private readonly services: RoomServices) {
    const { config, collaborations, psi, psiUploads } = services;
    this.limits = Object.freeze({
      maxUploadBytes: config.maxUploadBytes,
      maxParquetBytes: config.maxParquetBytes,
      maxJsonBytes: config.maxJsonBytes,
      signatureWindowMs: config.signatureWindowMs,
      maxPsiMessageBytes: psiUploads.messageLimit,
    });
    this.residency = Object.freeze({ region: config.residency.region, processes: [...config.residency.processes] });
    this.metrics = services.metrics;
    this.nonces = new NonceCache(config.signatureWindowMs);
    this.keysByText = new Set([...collaborations.values()].flatMap((c) => [...c.principalsByKey.keys()]));
    this.psiSweep = setInterval(() => psi.sweep(), 30_000).unref();
    // Datasets past their retention go within the hour (and at every start, before anything loads).
    this.retentionSweep = setInterval(() => {
      this.sweepRetention().catch((error: unknown) =>
        services.log.error({ err: error }, 'retention sweep failed; it runs again within the hour'),
      );
    }, 3_600_000).unref();
  }

  /** The room's public keys, base64: uploads are sealed to the first, audit entries signed by the second. */
  publicKeys(): { sealingPublicKey: string; signingPublicKey: string } {
    return {
      sealingPublicKey: toBase64(this.services.keys.sealing.publicKey),
      signingPublicKey: toBase64(this.services.keys.signing.publicKey),
    };
  }

  collaborationIds(): string[] {
    return [...this.services.collaborations.keys()];
  }

  /** Policy files that did not validate at start (their collaborations do not serve), and why. */
  quarantinedPolicies(): readonly QuarantinedPolicy[] {
    return this.services.quarantinedPolicies;
  }

  collaboration(id: string): Collaboration {
    const found = this.services.collaborations.get(id);
    if (!found)
      throw new NotFoundError('COLLABORATION_NOT_FOUND', `There is no collaboration "${id}" in this room.`, {
        collaboration: id,
      });
    return found;
  }

  /** The caller's principal in a collaboration; refuses keys of other collaborations. */
  /** The principal ids a key belongs to, for the request log (a key may serve in several collaborations). */
  principalIdsOf(publicKeyText: string): string[] {
    return [...this.services.collaborations.values()].flatMap((c) => c.principalsByKey.get(publicKeyText)?.id ?? []);
  }

  /** Ready to serve: every policy file loaded and every stored dataset version loaded. */
  readiness(): { ready: boolean; quarantinedPolicies: string[]; datasetsNotLoaded: string[] } {
    const quarantinedPolicies = this.services.quarantinedPolicies.map((q) => q.file);
    const { datasetsNotLoaded } = this.services.startupProblems;
    return {
      ready: quarantinedPolicies.length === 0 && datasetsNotLoaded.length === 0,
      quarantinedPolicies,
      datasetsNotLoaded: [...datasetsNotLoaded],
    };
  }

  /** Whether a caller may read /v1/metrics: the configured bearer token, or (without one) loopback only. */
  mayReadMetrics(authorization: string | undefined, fromLoopback: boolean): boolean {
    const token = this.services.config.metricsToken;
    if (!token) return fromLoopback;
    const given = Buffer.from(authorization ?? '');
    const expected = Buffer.from(`Bearer ${token}`);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  principal(collaborationId: string, publicKeyText: string): Principal {
    const principal = this.collaboration(collaborationId).principalsByKey.get(publicKeyText);
    if (!principal)
      throw new ForbiddenError(
        'NOT_A_MEMBER',
        `This key belongs to no principal of collaboration "${collaborationId}".`,
        { collaboration: collaborationId },
      );
    return principal;
  }

  /** Checks a request's signature headers against this room's keys, window, start and nonces (src/auth). */
  verifyRequest(request: SignedRequest, now = Date.now()): { publicKeyText: string; contentSha256: string } {
    return verifyRequest({
      ...request,
      now,
      windowMs: this.limits.signatureWindowMs,
      notBefore: this.startedAt - 1000,
      nonces: this.nonces,
      isKnownKey: (key) => this.keysByText.has(key),
    });
  }

  collaborationStatus(collaboration: Collaboration): Promise<CollaborationStatus> {
    return collaborationStatus(this.services, collaboration);
  }

  acceptPolicy(
    collaboration: Collaboration,
    officer: Principal,
    policyHash: string,
    signature: string,
  ): Promise<CollaborationStatus> {
    return acceptPolicy(this.services, collaboration, officer, policyHash, signature);
  }

  /** A template run on synthetic rows of the declared columns, for its reviewers and proposer. */
  syntheticDryRun(
    collaboration: Collaboration,
    caller: Principal,
    name: string,
    params?: Record<string, unknown>,
  ): Promise<SyntheticDryRun> {
    return syntheticDryRun(this.services, collaboration, caller, name, params);
  }

  /** Deletes every held version of a dataset now (its owner's provider or officer). */
  /** The upload's admission alone (declared, owner's provider, region, active): nothing is read or stored. */
  async uploadPreflight(collaboration: Collaboration, uploader: Principal, name: string): Promise<{ ok: true }> {
    await admitUpload(this.services, collaboration, uploader, name);
    return { ok: true };
  }

  deleteDataset(collaboration: Collaboration, caller: Principal, name: string): Promise<DatasetDeletion> {
    return deleteDataset(this.services, collaboration, caller, name);
  }

  /** Deletes what is past its retention (`now` for tests: a day far enough ahead). */
  /** Deletes expired versions, then drops any executor copy that is no committed version's. */
  async sweepRetention(now = Date.now()): Promise<DatasetDeletion[]> {
    const deleted = await sweepRetention(this.services, now);
    await this.services.executor.reconcile();
    return deleted;
  }

  /** What changed in the policy since `member` last accepted it. */
  policyChangesSinceAcceptance(collaboration: Collaboration, member: string): Promise<PolicyChangesSinceAcceptance> {
    return policyChangesSinceAcceptance(this.services, collaboration, member);
  }

  auditTrail(collaboration: Collaboration): Promise<AuditEntry[]> {
    return auditTrail(this.services, collaboration);
  }

  datasetStatus(collaboration: Collaboration, name: string): Promise<DatasetStatus> {
    return datasetStatus(this.services, collaboration, name);
  }

  uploadDataset(
    collaboration: Collaboration,
    uploader: Principal,
    dataset: string,
    body: AsyncIterable<Uint8Array>,
  ): Promise<UploadReceipt> {
    return uploadDataset(this.services, collaboration, uploader, dataset, body);
  }

  listTemplates(collaboration: Collaboration): Promise<TemplateStatus[]> {
    return listTemplates(this.services, collaboration);
  }

  templateStatus(collaboration: Collaboration, name: string): Promise<TemplateStatus> {
    return templateStatus(this.services, collaboration, name);
  }

  proposeTemplate(collaboration: Collaboration, proposer: Principal, document: unknown): Promise<TemplateStatus> {
    return proposeTemplate(this.services, collaboration, proposer, document);
  }

  reviewTemplate(
    collaboration: Collaboration,
    officer: Principal,
    name: string,
    review: TemplateReviewRequest,
  ): Promise<TemplateStatus> {
    return reviewTemplate(this.services, collaboration, officer, name, review);
  }

  budgetReport(collaboration: Collaboration, member: string): Promise<DatasetBudget[]> {
    return budgetReport(this.services, collaboration, member);
  }

  /** What every member spent of `owner`'s DP datasets this period. */
  spendingOnOwnedDatasets(collaboration: Collaboration, owner: string): Promise<OwnedDatasetSpending[]> {
    return spendingOnOwnedDatasets(this.services, collaboration, owner);
  }

  runQuery(collaboration: Collaboration, analyst: Principal, request: QueryRequest): Promise<QueryResponse> {
    return runQuery(this.services, collaboration, analyst, request);
  }

  listExtractTemplates(collaboration: Collaboration): Promise<ExtractTemplateStatus[]> {
    return listDatasetTemplates(EXTRACT_TEMPLATES, this.services, collaboration);
  }

  extractTemplateStatus(collaboration: Collaboration, name: string): Promise<ExtractTemplateStatus> {
    return datasetTemplateStatus(EXTRACT_TEMPLATES, this.services, collaboration, name);
  }

  proposeExtractTemplate(
    collaboration: Collaboration,
    proposer: Principal,
    document: unknown,
  ): Promise<ExtractTemplateStatus> {
    return proposeDatasetTemplate(EXTRACT_TEMPLATES, this.services, collaboration, proposer, document);
  }

  reviewExtractTemplate(
    collaboration: Collaboration,
    officer: Principal,
    name: string,
    review: TemplateReviewRequest,
  ): Promise<ExtractTemplateStatus> {
    return reviewDatasetTemplate(EXTRACT_TEMPLATES, this.services, collaboration, officer, name, review);
  }

  runExtract(
    collaboration: Collaboration,
    caller: Principal,
    request: { template: string; dryRun?: boolean },
    onProgress?: (progress: SearchProgress) => void,
  ): Promise<ExtractAnswer> {
    return runExtract(this.services, collaboration, caller, request, onProgress);
  }

  sealedExtract(collaboration: Collaboration, caller: Principal, id: string): Promise<Uint8Array> {
    return sealedExtract(this.services, collaboration, caller, id);
  }

  listModelTemplates(collaboration: Collaboration): Promise<ModelTemplateStatus[]> {
    return listDatasetTemplates(MODEL_TEMPLATES, this.services, collaboration);
  }

  modelTemplateStatus(collaboration: Collaboration, name: string): Promise<ModelTemplateStatus> {
    return datasetTemplateStatus(MODEL_TEMPLATES, this.services, collaboration, name);
  }

  proposeModelTemplate(
    collaboration: Collaboration,
    proposer: Principal,
    document: unknown,
  ): Promise<ModelTemplateStatus> {
    return proposeDatasetTemplate(MODEL_TEMPLATES, this.services, collaboration, proposer, document);
  }

  reviewModelTemplate(
    collaboration: Collaboration,
    officer: Principal,
    name: string,
    review: TemplateReviewRequest,
  ): Promise<ModelTemplateStatus> {
    return reviewDatasetTemplate(MODEL_TEMPLATES, this.services, collaboration, officer, name, review);
  }

  trainModel(
    collaboration: Collaboration,
    caller: Principal,
    request: { template: string },
    onProgress?: (progress: TrainingProgress) => void | Promise<void>,
  ): Promise<ModelCard> {
    return trainModelTemplate(this.services, collaboration, caller, request, onProgress);
  }

  listModels(collaboration: Collaboration, caller: Principal): Promise<ModelCard[]> {
    return listModels(this.services, collaboration, caller);
  }

  model(collaboration: Collaboration, caller: Principal, seq: number): Promise<ModelCard> {
    return getModel(this.services, collaboration, caller, seq);
  }

  scoreOwnRows(
    collaboration: Collaboration,
    caller: Principal,
    request: { model: number; dataset: string },
  ): Promise<OwnScores> {
    return scoreOwnRows(this.services, collaboration, caller, request);
  }

  openPsi(
    collaboration: Collaboration,
    principal: Principal,
    partner: string,
    count: 'room' | 'client' = 'room',
  ): Promise<PsiSessionAnswer> {
    return openPsi(this.services, collaboration, principal, partner, count);
  }

  listPsiSessions(collaboration: Collaboration, principal: Principal): PsiSessionAnswer[] {
    return listPsiSessions(this.services, collaboration, principal);
  }

  cancelPsiSession(collaboration: Collaboration, principal: Principal, id: string) {
    return cancelPsiSession(this.services, collaboration, principal, id);
  }

  psiSession(collaboration: Collaboration, principal: Principal, id: string): PsiSessionAnswer {
    return psiSession(this.services, collaboration, principal, id);
  }

  admitPsiMessage(
    collaboration: Collaboration,
    principal: Principal,
    id: string,
    kind: PsiMessageKind,
    declaredBytes: number | undefined,
  ): PsiReservation {
    return admitPsiMessage(this.services, collaboration, principal, id, kind, declaredBytes);
  }

  postPsiMessage(
    collaboration: Collaboration,
    principal: Principal,
    id: string,
    kind: PsiMessageKind,
    bytes: Uint8Array,
  ): Promise<PsiSessionAnswer> {
    return postPsiMessage(this.services, collaboration, principal, id, kind, bytes);
  }

  readPsiMessage(
    collaboration: Collaboration,
    principal: Principal,
    id: string,
    kind: 'setup' | 'request' | 'response',
  ): Uint8Array {
    return readPsiMessage(this.services, collaboration, principal, id, kind);
  }

  /** A room-counted session's noisy count, for a member its rule releases to. */
  readPsiResult(collaboration: Collaboration, principal: Principal, id: string): PsiResultAnswer {
    return readPsiResult(this.services, collaboration, principal, id);
  }

  /** Stops running queries, closes both databases and deletes the staging area. */
  async close(): Promise<void> {
    clearInterval(this.psiSweep);
    clearInterval(this.retentionSweep);
    this.services.engine.close();
    await this.services.executor.close();
    this.services.state.close();
    await this.services.psiCounter.close();
    await this.services.staging.destroy();
  }
}
