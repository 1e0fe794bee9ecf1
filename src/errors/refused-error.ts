import { UnprocessableError } from './cleanroom-error.ts';
import type { Diagnostic } from './diagnostic.ts';

/**
 * A refusal with every reason: the one shape for anything the room's rules refuse (a query, a
 * template, a DP request, a PSI message, a request body). `details.diagnostics` lists them all.
 */
export class RefusedError extends UnprocessableError {
  constructor(code: string, readonly diagnostics: readonly Diagnostic[], what = 'The request') {
    const first = diagnostics[0];
    super(code, `${what} was refused: ${first?.message ?? 'it breaks a rule'}${diagnostics.length > 1 ? ` (and ${diagnostics.length - 1} more)` : ''}`, { diagnostics });
  }
}

/** A query the checker refused. */
export const queryRefused = (diagnostics: readonly Diagnostic[]): RefusedError => new RefusedError('QUERY_REFUSED', diagnostics, 'The query');
