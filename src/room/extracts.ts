import { residencyDiagnostics } from '../policy/residency.ts';
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { toBase64 } from '../crypto/bytes.ts';
import { writeEnvelope } from '../crypto/envelope-writer.ts';
import { sha256Hex } from '../crypto/hashing.ts';
import { sealingKeyOfSigningKey } from '../crypto/sealing.ts';
import { sign } from '../crypto/signatures.ts';
import { ConflictError, ForbiddenError, NotFoundError } from '../errors/cleanroom-error.ts';
import { diagnostic } from '../errors/diagnostic.ts';
import { refuseIf } from '../errors/refused-error.ts';
import { toCsv } from '../extract/extract-csv.ts';
import { extractManifestSigningBytes, type ExtractManifest } from '../extract/extract-manifest.ts';
import {
  checkedExtractTemplate,
  extractTemplateHash,
  type ExtractTemplateDocument,
} from '../extract/extract-template.ts';
import type { SearchProgress } from '../extract/lattice-search.ts';
import type { Collaboration, Dataset, Principal } from '../policy/collaboration.ts';
import {
  planExtract,
  releaseExtractRows,
  type EarlierExtract,
  type ExtractRelease,
  type ExtractReport,
} from '../release/extract-release.ts';
import { currentVersion, versionHeld } from '../store/state/dataset-versions.ts';
import { extractById, extractsTo, recordExtract } from '../store/state/extracts.ts';
import { recordAudit } from './audit-trail.ts';
import { heldOtherThan, replacedSince, tableGenerations } from '../release/run-on-engine.ts';
import { requireActive } from './policy-acceptance.ts';
import { requireRole } from './require-role.ts';
import type { RoomServices } from './room-services.ts';
import { datasetTemplateStatus, type DatasetTemplateKind } from './dataset-templates.ts';
import type { ReviewedTemplate } from './template-registry.ts';

/** Extract templates: stored, checked and reviewed by `dataset-templates.ts`. */
export const EXTRACT_TEMPLATES: DatasetTemplateKind<ExtractTemplateDocument> = {
  table: 'extract_templates',
  what: 'extract template',
  action: 'extract_template',
  check: checkedExtractTemplate,
  hash: extractTemplateHash,
};

/** An extract template as reviewed: `requiredMembers` is the dataset's owner. */
export type ExtractTemplateStatus = ReviewedTemplate<ExtractTemplateDocument>;

/** What a run answers: the extract's id and report, or (dry run) the report of what it would release. */
export interface ExtractAnswer {
  readonly dryRun: boolean;
  readonly extract?: string;
  readonly template: string;
  readonly templateHash: string;
  readonly recipient: string;
  readonly format: 'csv' | 'parquet';
  readonly report: ExtractReport;
  readonly auditSeq?: number;
}

export const extractDirectory = (services: RoomServices, collaboration: string) =>
  join(services.config.dataDirectory, 'extracts', collaboration);

/**
 * Earlier extracts of the dataset to the same recipient, as the search must respect them. Refuses
 * when the data changed since one of them and the rules do not allow re-publication: two
 * generalisations of different data compose into less than either (Ganta et al., KDD 2008).
 */
async function earlierExtracts(
  services: RoomServices,
  collaboration: Collaboration,
  dataset: Dataset,
  recipient: string,
  version: number,
): Promise<EarlierExtract[]> {
  const stored = await extractsTo(services.state, collaboration.id, dataset.name, recipient);
  const changed = stored.filter((e) => e.dataVersion !== version);
  const last = changed[changed.length - 1];
  if (last && !dataset.rules.extract?.republish)
    refuseIf([
      diagnostic(
        'EXTRACT_DATA_CHANGED',
        `"${dataset.name}" changed since extract ${last.id} (version ${last.dataVersion}, now ${version}) went to ` +
          `${recipient}; its rules do not allow re-publication, as a new extract would compose with the old one.`,
        `datasets.${dataset.name}.rules.extract.republish`,
        { dataset: dataset.name, extract: last.id, extractedVersion: last.dataVersion, currentVersion: version },
      ),
    ]);
  // With re-publication allowed, only extracts of the current version constrain the new one.
  return stored
    .filter((e) => e.dataVersion === version)
    .map((e) => ({ id: e.id, release: JSON.parse(e.levels) as ExtractRelease }));
}

/**
 * Runs an approved extract template for its recipient: search, release, recount, seal to the
 * recipient principal's key, store, record (for composition) and audit, in that order; nothing is
 * stored or recorded unless every step succeeded. A dry run answers the report only (what would be
 * released, how generalised): to the owner's officers at any time, to the recipient once approved.
 */
export async function runExtract(
  services: RoomServices,
  collaboration: Collaboration,
  caller: Principal,
  request: { template: string; dryRun?: boolean },
  onProgress?: (progress: SearchProgress) => void,
): Promise<ExtractAnswer> {
  await requireActive(services, collaboration);
  const status = await datasetTemplateStatus(EXTRACT_TEMPLATES, services, collaboration, request.template);
  const template = status.document;
  const dataset = collaboration.datasets.get(template.dataset);
  // The policy may have changed since the proposal: the template is checked again.
  checkedExtractTemplate(template, collaboration);
  if (!dataset) throw new Error('a checked template names a dataset of its collaboration');
  refuseIf(residencyDiagnostics(services.config.residency, [dataset]));
  const dryRun = request.dryRun === true;
  const ownerOfficer = caller.roles.has('officer') && caller.memberId === dataset.owner;
  if (!(dryRun && ownerOfficer)) {
    requireRole(caller, 'modeler', 'run an extract');
    if (caller.memberId !== template.recipient)
      throw new ForbiddenError(
        'NOT_THE_RECIPIENT',
        `Extract template "${template.name}" is sealed to ${template.recipient}; ${caller.memberId} cannot run it.`,
        { recipient: template.recipient },
      );
  }
  // Before approval nothing runs on the data for the recipient, not even a dry run (its report counts people).
  if (!status.runnable && !(dryRun && ownerOfficer))
    throw new ForbiddenError(
      'TEMPLATE_NOT_APPROVED',
      `Extract template "${template.name}" (${status.hash.slice(0, 12)}) awaits approval by an officer of ` +
        `${status.requiredMembers.join(', ')}.`,
      { template: template.name, hash: status.hash, requiredMembers: status.requiredMembers },
    );
  const version = await currentVersion(services.state, collaboration.id, dataset.name);
  if (!version || !services.engine.tableExists(collaboration.id, dataset.name))
    throw new ConflictError(
      'DATASET_NOT_LOADED',
      `No version of ${dataset.name} has been uploaded yet; the extract reads it.`,
      { datasets: [dataset.name] },
    );
  // Runs to one recipient of one dataset go one at a time: each must see the extracts before it (two
  // at once would each compose with neither). Dry runs release nothing and need no turn.
  const turn = dryRun ? undefined : await takeTurn(services, collaboration.id, dataset.name, template.recipient);
  try {
    return await searchAndRelease(
      services,
      collaboration,
      caller,
      status,
      dataset,
      version.version,
      dryRun,
      onProgress,
    );
  } finally {
    turn?.();
  }
}

const queues = new Map<string, Promise<void>>();

/** Waits for earlier runs to the same recipient of the same dataset in this room; answers the release of the turn. */
async function takeTurn(
  services: RoomServices,
  collaboration: string,
  dataset: string,
  recipient: string,
): Promise<() => void> {
  const key = JSON.stringify([services.config.dataDirectory, collaboration, dataset, recipient]);
  const before = queues.get(key) ?? Promise.resolve();
  let release!: () => void;
  const mine = new Promise<void>((resolve) => {
    release = resolve;
  });
  const tail = before.then(() => mine);
  queues.set(key, tail);
  await before;
  return () => {
    release();
    if (queues.get(key) === tail) queues.delete(key);
  };
}

async function searchAndRelease(
  services: RoomServices,
  collaboration: Collaboration,
  caller: Principal,
  status: ExtractTemplateStatus,
  dataset: Dataset,
  dataVersion: number,
  dryRun: boolean,
  onProgress?: (progress: SearchProgress) => void,
): Promise<ExtractAnswer> {
  const template = status.document;
  const ctx = services.release;
  // Before the plan learns anything of the table (one row per person) or reads it.
  const generations = tableGenerations(ctx, collaboration.id, [dataset.name]);
  const earlier = await earlierExtracts(services, collaboration, dataset, template.recipient, dataVersion);
  // An upload that replaced the data during the search (or is being swapped in: the state's version is
  // not yet the table's): the plan, its report and the rows may describe different versions; start again.
  const requireUnchanged = async () => {
    if (
      (await currentVersion(services.state, collaboration.id, dataset.name))?.version !== dataVersion ||
      replacedSince(ctx, collaboration.id, generations).length > 0 ||
      heldOtherThan(ctx, collaboration.id, new Map([[dataset.name, dataVersion]])).length > 0
    )
      throw new ConflictError(
        'DATASET_CHANGED_DURING_EXTRACT',
        `A new version of ${dataset.name} was uploaded while the extract ran; nothing was released. Run it again.`,
        { dataset: dataset.name },
      );
  };
  await requireUnchanged();
  const plan = await planExtract(ctx, collaboration, dataset, template, earlier, onProgress);
  // A dry run's report describes one version too.
  await requireUnchanged();
  const answer = {
    template: template.name,
    templateHash: status.hash,
    recipient: template.recipient,
    format: template.format,
    report: plan.report,
  };
  if (dryRun) {
    // A dry run reads the data too: officers can prove later who looked at what it would release.
    const entry = await ctx.audit({
      collaboration: collaboration.id,
      actor: caller.id,
      action: 'extract.dry_run',
      details: { template: template.name, templateHash: status.hash, dataset: dataset.name, report: plan.report },
    });
    return { dryRun: true, ...answer, auditSeq: entry.seq };
  }

  const released = await releaseExtractRows(ctx, plan, template);
  await requireUnchanged();
  const neutralised = template.format === 'csv';
  const plaintext = toCsv(
    released.columns.map((c) => c.name),
    released.rows,
    neutralised,
  );
  const recipientKey = sealingKeyOfSigningKey(caller.publicKey);
  if (!recipientKey) throw new Error("a principal's key in a loaded policy is a valid Ed25519 point");
  const id = `x-${randomUUID()}`;
  // What the manifest and the audit entry both say the extract is.
  const described = {
    extract: id,
    template: template.name,
    templateHash: status.hash,
    dataset: dataset.name,
    dataVersion,
    recipient: template.recipient,
  };
  const createdAt = new Date().toISOString();
  const signing = services.keys.signing;
  const pieces: Uint8Array[] = [];
  for await (const piece of writeEnvelope(
    (async function* () {
      yield plaintext;
    })(),
    {
      recipientPublicKey: recipientKey,
      trailer: (facts) => {
        const manifest: ExtractManifest = {
          v: 1,
          kind: 'extract',
          collaboration: collaboration.id,
          ...described,
          format: template.format,
          neutralised,
          columns: released.columns,
          rows: released.rows.length,
          plaintextBytes: facts.plaintextBytes,
          plaintextSha256: facts.plaintextSha256,
          envelopeSha256: facts.envelopeSha256,
          createdAt,
          report: plan.report as unknown as Record<string, unknown>,
        };
        return {
          manifest: manifest as unknown as Record<string, unknown>,
          signature: toBase64(sign(extractManifestSigningBytes(manifest), signing.secretKey)),
          signer: toBase64(signing.publicKey),
        };
      },
    },
  ))
    pieces.push(piece);
  const sealed = Buffer.concat(pieces);
  const directory = extractDirectory(services, collaboration.id);
  await mkdir(directory, { recursive: true, mode: 0o700 });
  const file = `${id}.clrm`;
  await writeFile(join(directory, file), sealed, { mode: 0o600 });
  let entry;
  try {
    entry = await services.state.write(async (tx) => {
      // Checked again where it counts: an upload or a deletion that committed while the envelope was
      // written means these rows no longer describe a held version; nothing is recorded or kept.
      if ((await currentVersion(tx, collaboration.id, dataset.name))?.version !== dataVersion)
        throw new ConflictError(
          'DATASET_CHANGED_DURING_EXTRACT',
          `${dataset.name} was replaced or deleted while the extract ran; nothing was released.`,
          { dataset: dataset.name },
        );
      await recordExtract(tx, {
        collaboration: collaboration.id,
        id,
        template: template.name,
        templateHash: status.hash,
        dataset: dataset.name,
        dataVersion,
        recipient: template.recipient,
        requestedBy: caller.id,
        levels: JSON.stringify(plan.release),
        report: JSON.stringify(plan.report),
        file,
        fileSha256: sha256Hex(sealed),
        createdAt,
      });
      return recordAudit(services, tx, {
        collaboration: collaboration.id,
        actor: caller.id,
        action: 'extract.released',
        details: {
          ...described,
          sealedSha256: sha256Hex(sealed),
          report: plan.report,
          policyHash: collaboration.hash,
        },
      });
    });
  } catch (error) {
    await unlink(join(directory, file)).catch(() => undefined);
    throw error;
  }
  return { dryRun: false, extract: id, ...answer, auditSeq: entry.seq };
}

/** The sealed file of an extract, for principals of its recipient member only (it opens only with their key). */
export async function sealedExtract(
  services: RoomServices,
  collaboration: Collaboration,
  caller: Principal,
  id: string,
): Promise<Uint8Array> {
  const found = await extractById(services.state, collaboration.id, id);
  if (!found || found.recipient !== caller.memberId || found.requestedBy !== caller.id)
    throw new NotFoundError('EXTRACT_NOT_FOUND', `There is no extract "${id}" sealed to you.`, { extract: id });
  // A deleted version's extracts were shredded with it (by its owner or by retention).
  if (!(await versionHeld(services.state, collaboration.id, found.dataset, found.dataVersion)))
    throw new NotFoundError(
      'EXTRACT_DELETED',
      `Extract "${id}" was deleted with version ${found.dataVersion} of ${found.dataset}.`,
      { extract: id, dataset: found.dataset, dataVersion: found.dataVersion },
    );
  return readFile(join(extractDirectory(services, collaboration.id), found.file));
}
