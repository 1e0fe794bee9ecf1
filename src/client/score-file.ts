import { readFile } from 'node:fs/promises';
import { fromBase64 } from '../crypto/bytes.ts';
import { verify } from '../crypto/signatures.ts';
import { describeDiagnostics } from '../errors/diagnostic.ts';
import { UnprocessableError } from '../errors/cleanroom-error.ts';
import { modelCardSigningBytes, validateModelCard, type ModelCard } from '../model/model-card.ts';
import { scoreCsv, type ScoringTerm } from '../store/local-files.ts';

const invalid = (message: string) => new UnprocessableError('MODEL_CARD_INVALID', message);

/**
 * Checks a model card someone handed over before anything uses it: its schema (`model-card.ts`), one
 * coefficient (and standard error) per feature, and the room's signature over it: by `roomSigningKey`
 * when given (fetched from the room), else by the signer the card names (intact, not proof of origin).
 */
export function checkModelCard(value: unknown, roomSigningKey?: Uint8Array): ModelCard {
  const checked = validateModelCard(value);
  if (!checked.ok) throw invalid(`This is not a Cleanroom model card:\n${describeDiagnostics(checked.diagnostics)}`);
  const card = checked.value;
  if (
    card.coefficients.length !== card.features.length ||
    (card.standardErrors && card.standardErrors.length !== card.features.length)
  )
    throw invalid('The model card does not give one coefficient (and standard error) per feature.');
  const signer = fromBase64(card.signature.signer, 32);
  const signature = fromBase64(card.signature.value, 64);
  if (!signer || !signature || !verify(modelCardSigningBytes(card), signature, signer))
    throw invalid("The model card's signature does not verify: it was changed after the room signed it.");
  if (roomSigningKey && Buffer.compare(Buffer.from(signer), Buffer.from(roomSigningKey)) !== 0)
    throw invalid("The model card is not signed by this room's signing key.");
  return card;
}

/** Reads and checks a model card file. */
export async function readModelCard(path: string, roomSigningKey?: Uint8Array): Promise<ModelCard> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(path, 'utf8'));
  } catch {
    throw invalid(`${path} is not JSON: a model card is the JSON file \`cleanroom model train --out\` wrote.`);
  }
  return checkModelCard(parsed, roomSigningKey);
}

/**
 * Scores the member's own CSV with a checked model card on its own machine (a throwaway local
 * DuckDB): every column kept, plus `score`.
 */
export async function scoreFile(card: ModelCard, file: string, out: string): Promise<number> {
  const terms: ScoringTerm[] = card.features.map((f, i) => {
    const coefficient = Number(card.coefficients[i]);
    if (f.encoding === 'intercept') return { encoding: 'intercept', coefficient };
    if (f.encoding === 'numeric') return { encoding: 'numeric', column: f.name, bounds: f.bounds, coefficient };
    return { encoding: 'one-hot', column: f.name, level: f.level, coefficient };
  });
  return scoreCsv(file, terms, card.model === 'logistic', out);
}
