import type { StateReader, StateTx } from '../state-db.ts';

/** An officer's signed decision on one template hash, for their member. */
export interface StoredTemplateReview {
  readonly collaboration: string;
  readonly templateHash: string;
  readonly member: string;
  readonly principal: string;
  readonly decision: 'approve' | 'reject';
  readonly reason: string | null;
  readonly signature: string;
  /** ISO 8601 UTC, written and read back (state-db returns timestamps as ISO text) */
  readonly reviewedAt: string;
}

/** The reviews of one template hash, one per member, ordered by member. */
export async function reviewsOf(
  db: StateReader,
  collaboration: string,
  templateHash: string,
): Promise<StoredTemplateReview[]> {
  const rows = await db.all(
    'SELECT * FROM template_reviews WHERE collaboration = $1 AND template_hash = $2 ORDER BY member',
    [collaboration, templateHash],
  );
  return rows.map((r) => ({
    collaboration: String(r.collaboration),
    templateHash: String(r.template_hash),
    member: String(r.member),
    principal: String(r.principal),
    decision: r.decision === 'approve' ? 'approve' : 'reject',
    reason: r.reason === null ? null : String(r.reason),
    signature: String(r.signature),
    reviewedAt: String(r.reviewed_at),
  }));
}

/** Records a review, replacing the member's earlier review of the same hash: a member's last word counts. */
export async function replaceReview(tx: StateTx, review: StoredTemplateReview): Promise<void> {
  await tx.run('DELETE FROM template_reviews WHERE collaboration = $1 AND template_hash = $2 AND member = $3', [
    review.collaboration,
    review.templateHash,
    review.member,
  ]);
  await tx.run(
    'INSERT INTO template_reviews (collaboration, template_hash, member, principal, decision, reason, signature, ' +
      'reviewed_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)',
    [
      review.collaboration,
      review.templateHash,
      review.member,
      review.principal,
      review.decision,
      review.reason,
      review.signature,
      review.reviewedAt,
    ],
  );
}
