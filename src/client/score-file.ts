import type { EncodedFeature } from '../release/model-release.ts';
import { scoreCsv, type ScoringTerm } from '../store/local-files.ts';

/** What scoring needs of a model card. */
export interface ScorableCard {
  readonly kind: string;
  readonly model: 'linear' | 'logistic';
  readonly features: readonly EncodedFeature[];
  readonly coefficients: readonly number[];
}

/**
 * Scores the member's own CSV with a model card on its own machine (a throwaway local DuckDB): every
 * column kept, plus `score`. The card is a file someone handed over, so its shape is checked first.
 */
export async function scoreFile(card: ScorableCard, file: string, out: string): Promise<number> {
  if (card.kind !== 'cleanroom-model-card' || card.features.length !== card.coefficients.length)
    throw new Error('This is not a Cleanroom model card (kind, features and coefficients).');
  const terms: ScoringTerm[] = card.features.map((f, i) => {
    const coefficient = Number(card.coefficients[i]);
    if (f.encoding === 'intercept') return { encoding: 'intercept', coefficient };
    if (f.encoding === 'numeric') return { encoding: 'numeric', column: f.name, bounds: f.bounds, coefficient };
    return { encoding: 'one-hot', column: f.name, level: f.level, coefficient };
  });
  return scoreCsv(file, terms, card.model === 'logistic', out);
}
