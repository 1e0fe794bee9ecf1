import { describe, expect, it } from 'vitest';
import { replaceReview, reviewsOf, type StoredTemplateReview } from '../../../src/store/state/template-reviews.ts';
import { useTempStateDb } from '../../support/temp-state-db.ts';

const state = useTempStateDb();
const review = (member: string, over: Partial<StoredTemplateReview> = {}): StoredTemplateReview => ({
  collaboration: 'demo',
  templateHash: 'h1',
  member,
  principal: `${member}-officer`,
  decision: 'approve',
  reason: null,
  signature: `sig-${member}`,
  reviewedAt: '2025-02-03T04:05:06.000Z',
  ...over,
});

describe('template reviews', () => {
  it('round-trips a review, a null reason staying null', async () => {
    await state().write((tx) => replaceReview(tx, review('acme')));
    const [read] = await reviewsOf(state(), 'demo', 'h1');
    expect(read).toEqual({ ...review('acme'), reviewedAt: expect.any(String) });
    expect(new Date(read!.reviewedAt).toISOString()).toBe('2025-02-03T04:05:06.000Z');
  });

  it("keeps a member's last word on a hash", async () => {
    await state().write((tx) => replaceReview(tx, review('acme')));
    await state().write((tx) =>
      replaceReview(tx, review('acme', { decision: 'reject', reason: 'reads too much', signature: 'sig-2' })),
    );
    expect((await reviewsOf(state(), 'demo', 'h1')).map((r) => [r.member, r.decision, r.reason, r.signature])).toEqual([
      ['acme', 'reject', 'reads too much', 'sig-2'],
    ]);
  });

  it('answers one hash of one collaboration, ordered by member', async () => {
    await state().write(async (tx) => {
      await replaceReview(tx, review('northwind'));
      await replaceReview(tx, review('acme'));
      await replaceReview(tx, review('acme', { templateHash: 'h0' }));
      await replaceReview(tx, review('globex', { collaboration: 'other' }));
    });
    expect((await reviewsOf(state(), 'demo', 'h1')).map((r) => r.member)).toEqual(['acme', 'northwind']);
    expect((await reviewsOf(state(), 'demo', 'h0')).map((r) => r.member)).toEqual(['acme']);
  });
});
