import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fromBase64 } from '../crypto/bytes.ts';
import { verify } from '../crypto/signatures.ts';
import { ConflictError, ForbiddenError, NotFoundError, UnprocessableError } from '../errors/cleanroom-error.ts';
import type { Collaboration, Principal } from '../policy/collaboration.ts';
import type { QueryReport } from '../query/query-plan.ts';
import { approvalSigningBytes, parameterTypes, parseTemplateFile, templateHash, validateTemplateDocument, type TemplateDocument } from '../query/template.ts';
import { invalidValue } from '../validation/json-validator.ts';
import { documentRefused } from '../errors/refused-error.ts';
import { planThroughParser, type PlannedQuery } from '../release/plan-query.ts';
import type { Room } from './room.ts';

export interface TemplateReview {
  readonly member: string;
  readonly principal: string;
  readonly decision: 'approve' | 'reject';
  readonly reason: string | null;
  readonly reviewedAt: string;
}

export interface TemplateStatus {
  readonly name: string;
  readonly hash: string;
  readonly document: TemplateDocument;
  readonly proposedBy: string;
  /** members whose data the template reads: an officer of each must approve this hash */
  readonly requiredMembers: readonly string[];
  readonly reviews: readonly TemplateReview[];
  readonly runnable: boolean;
  readonly report: QueryReport;
  readonly rewrittenSql: string;
}

/** The newest proposal under each name is the template; older hashes keep their history. */
async function latest(room: Room, collaboration: string, name: string): Promise<{ hash: string; document: TemplateDocument; proposedBy: string } | undefined> {
  const rows = await room.state.read('SELECT hash, document, proposed_by FROM templates WHERE collaboration = $1 AND name = $2 ORDER BY proposed_at DESC LIMIT 1', [collaboration, name]);
  const row = rows[0];
  return row ? { hash: String(row.hash), document: JSON.parse(String(row.document)) as TemplateDocument, proposedBy: String(row.proposed_by) } : undefined;
}

/** The template with the checker's report: what the officer reviews before signing. */
export async function templateStatus(room: Room, collaboration: Collaboration, name: string): Promise<TemplateStatus> {
  return (await checkedTemplate(room, collaboration, name)).status;
}

/** The template's status and its threshold-mode plan (what an officer reviews). */
export async function checkedTemplate(room: Room, collaboration: Collaboration, name: string): Promise<{ status: TemplateStatus; planned: PlannedQuery }> {
  const found = await latest(room, collaboration.id, name);
  if (!found) throw new NotFoundError('TEMPLATE_NOT_FOUND', `Collaboration "${collaboration.id}" has no template "${name}".`, { template: name });
  const ctx = room.releaseContext();
  const planned = await planThroughParser(ctx, collaboration, found.document.sql, { adHoc: false, mode: 'threshold', parameterTypes: parameterTypes(found.document) });
  const requiredMembers = [...new Set(planned.report.datasets.map((d) => collaboration.datasets.get(d)?.owner).filter((m) => m !== undefined))].sort();
  const reviews = await reviewsOf(room, collaboration.id, found.hash);
  const approved = new Set(reviews.filter((r) => r.decision === 'approve').map((r) => r.member));
  return {
    planned,
    status: {
      name, hash: found.hash, document: found.document, proposedBy: found.proposedBy, requiredMembers, reviews,
      runnable: requiredMembers.every((m) => approved.has(m)), report: planned.report, rewrittenSql: await ctx.parser.render(planned.tree, planned.parsed),
    },
  };
}

/** The current version of a template and who approved it, as a run needs it (the run plans it itself). */
export async function templateForRun(room: Room, collaboration: Collaboration, name: string): Promise<{ name: string; hash: string; document: TemplateDocument; approvedBy: ReadonlySet<string> }> {
  const found = await latest(room, collaboration.id, name);
  if (!found) throw new NotFoundError('TEMPLATE_NOT_FOUND', `Collaboration "${collaboration.id}" has no template "${name}".`, { template: name });
  const reviews = await reviewsOf(room, collaboration.id, found.hash);
  return { name, hash: found.hash, document: found.document, approvedBy: new Set(reviews.filter((r) => r.decision === 'approve').map((r) => r.member)) };
}

async function reviewsOf(room: Room, collaborationId: string, hash: string): Promise<TemplateReview[]> {
  return (await room.state.read('SELECT * FROM template_reviews WHERE collaboration = $1 AND template_hash = $2 ORDER BY member', [collaborationId, hash]))
    .map((r) => ({ member: String(r.member), principal: String(r.principal), decision: r.decision === 'approve' ? 'approve' as const : 'reject' as const, reason: r.reason === null ? null : String(r.reason), reviewedAt: String(r.reviewed_at) }));
}

export async function listTemplates(room: Room, collaboration: Collaboration): Promise<TemplateStatus[]> {
  const names = await room.state.read('SELECT DISTINCT name FROM templates WHERE collaboration = $1 ORDER BY name', [collaboration.id]);
  return Promise.all(names.map((r) => templateStatus(room, collaboration, String(r.name))));
}

/** Stores a proposal after checking it passes the checker; a changed template needs new signatures. */
export async function proposeTemplate(room: Room, collaboration: Collaboration, proposer: Principal | 'room', value: unknown): Promise<TemplateStatus> {
  if (proposer !== 'room') room.requireRole(proposer, 'analyst', 'propose a template');
  const checked = validateTemplateDocument(value);
  if (!checked.ok) throw documentRefused('TEMPLATE_INVALID', 'The template is invalid:', checked.diagnostics);
  const document = checked.value;
  if (document.collaboration !== collaboration.id) {
    const message = `names collaboration "${document.collaboration}", not "${collaboration.id}"`;
    throw documentRefused('TEMPLATE_INVALID', 'The template is invalid:', [invalidValue('/collaboration', message, 'a template belongs to its collaboration')]);
  }
  const planned = await planThroughParser(room.releaseContext(), collaboration, document.sql, { adHoc: false, mode: 'threshold', parameterTypes: parameterTypes(document) });
  const declared = new Set(Object.keys(document.parameters));
  const used = new Set(planned.report.parameters);
  const mismatch = [...used].filter((p) => !declared.has(p)).concat([...declared].filter((p) => !used.has(p)));
  if (mismatch.length > 0) {
    const problems = mismatch.map((p) => invalidValue(`/parameters/${p}`, declared.has(p) ? 'is declared but the SQL never uses it' : `is used in the SQL as $${p} but not declared`, 'declared parameters = $parameters in the SQL'));
    throw documentRefused('TEMPLATE_INVALID', `Declared parameters and $parameters in the SQL differ: ${mismatch.join(', ')}.`, problems, { parameters: mismatch });
  }
  const hash = templateHash(document);
  const actor = proposer === 'room' ? 'room' : proposer.id;
  await room.state.write(async (tx) => {
    const exists = await tx.all('SELECT 1 FROM templates WHERE collaboration = $1 AND hash = $2', [collaboration.id, hash]);
    if (exists.length > 0) return;
    await tx.run('INSERT INTO templates VALUES ($1, $2, $3, $4, $5, $6)', [collaboration.id, document.name, hash, JSON.stringify(document), actor, new Date().toISOString()]);
    await room.audit(tx, { collaboration: collaboration.id, actor, action: 'template.proposed', details: { template: document.name, hash, datasets: planned.report.datasets } });
  });
  return templateStatus(room, collaboration, document.name);
}

/** An officer signs approve or reject over the template's content hash (the current one only). */
export async function reviewTemplate(room: Room, collaboration: Collaboration, officer: Principal, name: string, review: { hash: string; decision: 'approve' | 'reject'; reason?: string; signature: string }): Promise<TemplateStatus> {
  room.requireRole(officer, 'officer', 'review a template');
  const current = await templateStatus(room, collaboration, name);
  if (review.hash !== current.hash) {
    throw new ConflictError('TEMPLATE_HASH_MISMATCH', 'The template changed since you reviewed it; review the current hash.', { signedHash: review.hash, currentHash: current.hash });
  }
  if (!current.requiredMembers.includes(officer.memberId)) {
    throw new ForbiddenError('NOT_A_DATA_OWNER', `This template reads no data of ${officer.memberId}; its approval is not asked for.`, { requiredMembers: current.requiredMembers });
  }
  if (review.decision === 'reject' && !review.reason?.trim()) throw new UnprocessableError('REASON_REQUIRED', 'A rejection must say why.');
  const signature = fromBase64(review.signature, 64);
  if (!signature || !verify(approvalSigningBytes(collaboration.id, review.hash, review.decision), signature, officer.publicKey)) {
    throw new UnprocessableError('REVIEW_BAD_SIGNATURE', "The review signature does not verify with the officer's key over this collaboration, hash and decision.");
  }
  await room.state.write(async (tx) => {
    await tx.run('DELETE FROM template_reviews WHERE collaboration = $1 AND template_hash = $2 AND member = $3', [collaboration.id, review.hash, officer.memberId]);
    await tx.run('INSERT INTO template_reviews VALUES ($1, $2, $3, $4, $5, $6, $7, $8)',
      [collaboration.id, review.hash, officer.memberId, officer.id, review.decision, review.reason ?? null, review.signature, new Date().toISOString()]);
    await room.audit(tx, { collaboration: collaboration.id, actor: officer.id, action: review.decision === 'approve' ? 'template.approved' : 'template.rejected', details: { template: name, hash: review.hash, reason: review.reason ?? null, signature: review.signature } });
  });
  return templateStatus(room, collaboration, name);
}

/** Registers the templates in sql/ as proposals by the room itself; officers still approve them. */
export async function loadTemplateFiles(room: Room): Promise<number> {
  const files = (await readdir(room.config.templatesDirectory).catch(() => [] as string[])).filter((f) => f.endsWith('.sql')).sort();
  let loaded = 0;
  for (const file of files) {
    const document = parseTemplateFile(await readFile(join(room.config.templatesDirectory, file), 'utf8'), file);
    const collaboration = room.collaborations.get(document.collaboration);
    if (!collaboration) {
      room.log.warn({ file, collaboration: document.collaboration }, 'template names a collaboration this room does not have; skipped');
      continue;
    }
    await proposeTemplate(room, collaboration, 'room', document);
    loaded += 1;
  }
  return loaded;
}
