import { CleanroomError } from './cleanroom-error.ts';
import { describeDiagnostics, type Diagnostic, type DiagnosticCode } from './diagnostic.ts';

/** The statuses a refusal answers with: invalid, not allowed, in conflict, too large, unacceptable, over a limit. */
export type RefusalStatus = 400 | 403 | 409 | 413 | 422 | 429;

/** The codes a refusal carries: a diagnostic's own, or the name of the document or act refused. */
export type RefusalCode =
  | DiagnosticCode
  | 'QUERY_REFUSED'
  | 'TEMPLATE_INVALID'
  | 'TEMPLATE_FILE_INVALID'
  | 'TEMPLATE_PARAMETERS_INVALID'
  | 'EXTRACT_TEMPLATE_INVALID'
  | 'MODEL_TEMPLATE_INVALID'
  | 'INVALID_REQUEST_BODY'
  | 'INVALID_QUERY_STRING'
  | 'UPLOAD_MANIFEST_INVALID'
  | 'POLICY_INVALID';

const INVALID = 400;
const FORBIDDEN = 403;
const CONFLICT = 409;
const UNACCEPTABLE = 422;

/**
 * The one place a refusal's code becomes a status. A module that refuses names the rule, never
 * the status: so the checker, privacy and PSI stay free of HTTP, and the table is exhaustive
 * (a new code does not compile until it has a status here).
 */
const STATUS: Readonly<Record<RefusalCode, RefusalStatus>> = {
  QUERY_REFUSED: UNACCEPTABLE,
  TEMPLATE_INVALID: UNACCEPTABLE,
  TEMPLATE_FILE_INVALID: INVALID,
  TEMPLATE_PARAMETERS_INVALID: INVALID,
  EXTRACT_TEMPLATE_INVALID: UNACCEPTABLE,
  MODEL_TEMPLATE_INVALID: UNACCEPTABLE,
  INVALID_REQUEST_BODY: INVALID,
  INVALID_QUERY_STRING: INVALID,
  UPLOAD_MANIFEST_INVALID: UNACCEPTABLE,
  POLICY_INVALID: INVALID,
  // The checker's codes travel inside QUERY_REFUSED; alone they are unacceptable content.
  SQL_PARSE_ERROR: UNACCEPTABLE,
  NOT_A_SELECT: UNACCEPTABLE,
  MULTIPLE_STATEMENTS: UNACCEPTABLE,
  SET_OPERATION_NOT_ALLOWED: UNACCEPTABLE,
  TABLE_NOT_ALLOWED: UNACCEPTABLE,
  TABLE_FUNCTION_NOT_ALLOWED: UNACCEPTABLE,
  QUALIFIED_NAME_NOT_ALLOWED: UNACCEPTABLE,
  COLUMN_UNKNOWN: UNACCEPTABLE,
  COLUMN_AMBIGUOUS: UNACCEPTABLE,
  COLUMN_BLOCKED: UNACCEPTABLE,
  IDENTIFIER_MISUSE: UNACCEPTABLE,
  QUASI_IDENTIFIER_NOT_ALLOWED: UNACCEPTABLE,
  METRIC_OUTSIDE_AGGREGATE: UNACCEPTABLE,
  AGGREGATE_NOT_ALLOWED: UNACCEPTABLE,
  AGGREGATE_MISPLACED: UNACCEPTABLE,
  FUNCTION_NOT_ALLOWED: UNACCEPTABLE,
  WINDOW_NOT_ALLOWED: UNACCEPTABLE,
  JOIN_NOT_ALLOWED: UNACCEPTABLE,
  SUBQUERY_NOT_ALLOWED: UNACCEPTABLE,
  STAR_NOT_ALLOWED: UNACCEPTABLE,
  NOT_AGGREGATED: UNACCEPTABLE,
  VIEW_DROPS_PRIVACY_UNIT: UNACCEPTABLE,
  CONSTRUCT_NOT_ALLOWED: UNACCEPTABLE,
  RESERVED_NAME: UNACCEPTABLE,
  AD_HOC_NOT_ALLOWED: UNACCEPTABLE,
  DP_NOT_SUPPORTED: UNACCEPTABLE,
  DP_REQUIRED: UNACCEPTABLE,
  TYPE_MISMATCH: UNACCEPTABLE,
  // A DP request's parameters are the request's own fields: wrong values are invalid input.
  DP_INVALID_EPSILON: INVALID,
  DP_EPSILON_TOO_SMALL: INVALID,
  DP_EPSILON_TOO_LARGE: INVALID,
  DP_INVALID_DELTA: INVALID,
  DP_DELTA_TOO_LARGE: INVALID,
  DP_DELTA_REQUIRED: INVALID,
  DP_INVALID_MECHANISM: INVALID,
  DP_INVALID_CONTRIBUTION_BOUNDS: INVALID,
  DP_NO_AGGREGATES: INVALID,
  DP_DUPLICATE_ALIAS: INVALID,
  DP_UNSUPPORTED_AGGREGATE: INVALID,
  DP_INVALID_CLAMP_BOUNDS: INVALID,
  DP_BUDGET_EXHAUSTED: 429,
  PSI_RULE_INVALID: INVALID,
  PSI_SET_TOO_SMALL: UNACCEPTABLE,
  PSI_SET_TOO_LARGE: UNACCEPTABLE,
  PSI_INVALID_FALSE_POSITIVE_RATE: UNACCEPTABLE,
  PSI_REVEAL_MISMATCH: UNACCEPTABLE,
  PSI_NOT_A_PARTY: FORBIDDEN,
  REGION_NOT_ALLOWED: FORBIDDEN,
  PSI_WRONG_ROLE: FORBIDDEN,
  PSI_SESSION_EXPIRED: CONFLICT,
  PSI_WRONG_STEP: CONFLICT,
  PSI_MESSAGE_TOO_LARGE: 413,
  PSI_MALFORMED_MESSAGE: INVALID,
  PSI_RATE_LIMITED: 429,
  PSI_NOT_RELEASED_TO_MEMBER: FORBIDDEN,
  PSI_EXACT_COUNT_NOT_ALLOWED: FORBIDDEN,
  PSI_BUDGET_EXHAUSTED: 429,
  // A party's doubly-blinded set did not match its revealed key: nothing is released.
  PSI_PROTOCOL_VIOLATION: UNACCEPTABLE,
  EXTRACT_NOT_ALLOWED: UNACCEPTABLE,
  EXTRACT_NOT_A_RECIPIENT: FORBIDDEN,
  EXTRACT_NOT_ONE_ROW_PER_PERSON: UNACCEPTABLE,
  // No generalisation the rules allow meets k (l, t) within the suppression limit, on this data.
  EXTRACT_SUPPRESSION_EXCEEDED: UNACCEPTABLE,
  // Earlier extracts to the same recipient constrain this one (composition attacks).
  EXTRACT_DATA_CHANGED: CONFLICT,
  EXTRACT_COMPOSITION: CONFLICT,
  MODEL_NOT_ALLOWED: UNACCEPTABLE,
  MODEL_NOT_A_RECIPIENT: FORBIDDEN,
  MODEL_DP_REQUIRED: UNACCEPTABLE,
  MODEL_TOO_FEW_PEOPLE: UNACCEPTABLE,
  MODEL_LEVEL_TOO_FEW_PEOPLE: UNACCEPTABLE,
  MODEL_PERSON_SET_APART: UNACCEPTABLE,
  MODEL_NOT_ONE_ROW_PER_PERSON: UNACCEPTABLE,
  INVALID_VALUE: INVALID,
  EXECUTOR_UNSUPPORTED: UNACCEPTABLE,
};

/** The status a refusal of `code` answers with. */
export const refusalStatus = (code: RefusalCode): RefusalStatus => STATUS[code];

/**
 * A refusal with every reason: the one shape for anything the room's rules refuse (a query, a
 * template, a DP request or budget, a PSI set or step, a document or request body).
 * `details.diagnostics` lists them all; the status comes from the code, through one table.
 */
export class RefusedError extends CleanroomError {
  readonly status: RefusalStatus;

  constructor(
    code: RefusalCode,
    readonly diagnostics: readonly Diagnostic[],
    options: {
      readonly message?: string;
      readonly what?: string;
      readonly details?: Readonly<Record<string, unknown>>;
    } = {},
  ) {
    super(code, options.message ?? summary(options.what ?? 'The request', diagnostics), {
      ...options.details,
      diagnostics,
    });
    this.status = STATUS[code];
  }
}

function summary(what: string, diagnostics: readonly Diagnostic[]): string {
  const first = diagnostics[0];
  const more = diagnostics.length > 1 ? ` (and ${diagnostics.length - 1} more)` : '';
  return `${what} was refused: ${first?.message ?? 'it breaks a rule'}${more}`;
}

/** A query the checker refused. */
export const queryRefused = (diagnostics: readonly Diagnostic[]): RefusedError =>
  new RefusedError('QUERY_REFUSED', diagnostics, { what: 'The query' });

/**
 * A refusal under the first diagnostic's own code (DP and PSI refusals, whose code names the
 * rule), its data spread into `details` as clients have always read it, and every diagnostic listed.
 */
export function refusalOf(first: Diagnostic, all: readonly Diagnostic[] = [first]): RefusedError {
  return new RefusedError(first.code, all, { message: first.message, details: { ...first.data } });
}

/** Throws `refusalOf` the diagnostics, or returns when there are none. */
export function refuseIf(diagnostics: readonly Diagnostic[]): void {
  const [first] = diagnostics;
  if (first !== undefined) throw refusalOf(first, diagnostics);
}

/** A JSON document or body that fails its schema: `code` names the document, the message lists every problem. */
export function documentRefused(
  code: RefusalCode,
  heading: string,
  diagnostics: readonly Diagnostic[],
  details: Readonly<Record<string, unknown>> = {},
): RefusedError {
  return new RefusedError(code, diagnostics, { message: `${heading}\n${describeDiagnostics(diagnostics)}`, details });
}
