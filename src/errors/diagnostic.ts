/** Where in a text (SQL) a diagnostic points: character offset, and 1-based line and column. */
export interface SourcePosition {
  readonly offset: number;
  readonly line: number;
  readonly column: number;
}

/** What a query diagnostic concerns, when one dataset or column is at fault. */
export interface QueryScope {
  readonly dataset?: string;
  readonly column?: string;
}

type None = Readonly<Record<string, never>>;

/**
 * Every reason the room refuses something, by code, with the shape of the data a client can act
 * on (as Malloy's parse-log keeps one message type and a map from code to its data). The query
 * checker, DP planning and budgets, PSI rules and the validation of every document and request body
 * all speak this one type; the room and http choose the status it answers with.
 */
export interface DiagnosticData {
  // The query checker (README "Queries and the checker" lists them with examples).
  readonly SQL_PARSE_ERROR: QueryScope;
  readonly NOT_A_SELECT: QueryScope;
  readonly MULTIPLE_STATEMENTS: QueryScope;
  readonly SET_OPERATION_NOT_ALLOWED: QueryScope;
  readonly TABLE_NOT_ALLOWED: QueryScope;
  readonly TABLE_FUNCTION_NOT_ALLOWED: QueryScope;
  readonly QUALIFIED_NAME_NOT_ALLOWED: QueryScope;
  readonly COLUMN_UNKNOWN: QueryScope;
  readonly COLUMN_AMBIGUOUS: QueryScope;
  readonly COLUMN_BLOCKED: QueryScope;
  readonly IDENTIFIER_MISUSE: QueryScope;
  readonly QUASI_IDENTIFIER_NOT_ALLOWED: QueryScope;
  readonly METRIC_OUTSIDE_AGGREGATE: QueryScope;
  readonly AGGREGATE_NOT_ALLOWED: QueryScope;
  readonly AGGREGATE_MISPLACED: QueryScope;
  readonly FUNCTION_NOT_ALLOWED: QueryScope;
  readonly WINDOW_NOT_ALLOWED: QueryScope;
  readonly JOIN_NOT_ALLOWED: QueryScope;
  readonly SUBQUERY_NOT_ALLOWED: QueryScope;
  readonly STAR_NOT_ALLOWED: QueryScope;
  readonly NOT_AGGREGATED: QueryScope;
  readonly VIEW_DROPS_PRIVACY_UNIT: QueryScope;
  readonly CONSTRUCT_NOT_ALLOWED: QueryScope;
  readonly RESERVED_NAME: QueryScope;
  readonly AD_HOC_NOT_ALLOWED: QueryScope;
  readonly DP_NOT_SUPPORTED: QueryScope;
  readonly DP_REQUIRED: QueryScope;
  readonly TYPE_MISMATCH: QueryScope;
  // Differential privacy: the parameters a query states, and the budgets it pays from.
  readonly DP_INVALID_EPSILON: { readonly epsilon: unknown };
  readonly DP_EPSILON_TOO_SMALL: { readonly epsilon: number; readonly min: number };
  readonly DP_EPSILON_TOO_LARGE: { readonly epsilon: number; readonly max: number };
  readonly DP_INVALID_DELTA: { readonly delta: unknown };
  readonly DP_DELTA_TOO_LARGE: { readonly delta: number; readonly max: number };
  readonly DP_DELTA_REQUIRED: { readonly requiredBy: readonly string[] };
  readonly DP_INVALID_MECHANISM: { readonly mechanism: unknown };
  readonly DP_INVALID_CONTRIBUTION_BOUNDS: { readonly maxGroups: unknown; readonly maxRowsPerUnit: unknown };
  readonly DP_NO_AGGREGATES: None;
  readonly DP_DUPLICATE_ALIAS: { readonly alias: string };
  readonly DP_UNSUPPORTED_AGGREGATE: { readonly alias: string; readonly kind: unknown };
  readonly DP_INVALID_CLAMP_BOUNDS: { readonly alias: string; readonly clamp: unknown };
  readonly DP_BUDGET_EXHAUSTED: {
    readonly dataset?: string;
    readonly period?: string;
    readonly periodStart?: string;
    readonly remaining: { readonly epsilon: number; readonly delta: number };
    readonly requested: { readonly epsilon: number; readonly delta: number };
  };
  // Private set intersection: rule documents and the sets and parameters of a session.
  readonly PSI_RULE_INVALID: { readonly field: string };
  readonly PSI_SET_TOO_SMALL: {
    readonly side: 'server' | 'client';
    readonly size: number;
    readonly minSetSize: number;
  };
  readonly PSI_SET_TOO_LARGE: {
    readonly side: 'server' | 'client';
    readonly size: number;
    readonly maxSetSize: number;
  };
  readonly PSI_INVALID_FALSE_POSITIVE_RATE: { readonly falsePositiveRate: string };
  readonly PSI_RATE_LIMITED: { readonly maxSessionsPerDay: number; readonly retryAfterSeconds: number };
  readonly PSI_NOT_A_PARTY: { readonly collaborationId: string };
  readonly PSI_WRONG_ROLE: { readonly sessionId: string; readonly role: 'server' | 'client' };
  readonly PSI_SESSION_EXPIRED: { readonly sessionId: string };
  readonly PSI_WRONG_STEP: { readonly sessionId: string; readonly state?: string };
  readonly PSI_REVEAL_MISMATCH: { readonly requested: boolean; readonly allowed: boolean };
  readonly PSI_MESSAGE_TOO_LARGE: { readonly bytes: number; readonly limit: number };
  readonly PSI_MALFORMED_MESSAGE: { readonly reason: string } & Readonly<Record<string, unknown>>;
  readonly PSI_NOT_RELEASED_TO_MEMBER: { readonly sessionId: string };
  readonly PSI_EXACT_COUNT_NOT_ALLOWED: { readonly count: string };
  readonly PSI_BUDGET_EXHAUSTED: {
    readonly epsilon: number;
    readonly spent: number;
    readonly epsilonBudget: number;
  };
  readonly PSI_PROTOCOL_VIOLATION: { readonly sessionId: string; readonly violators: readonly string[] };
  // Anonymized extracts: what a template asks for, and what the data and earlier extracts allow.
  readonly EXTRACT_NOT_ALLOWED: { readonly dataset: string; readonly column?: string };
  readonly EXTRACT_NOT_A_RECIPIENT: { readonly dataset: string; readonly recipient: string };
  readonly EXTRACT_NOT_ONE_ROW_PER_PERSON: { readonly dataset: string; readonly privacyUnit: string };
  readonly EXTRACT_SUPPRESSION_EXCEEDED: {
    readonly dataset: string;
    readonly people: number;
    readonly maxSuppressed: number;
  };
  readonly EXTRACT_DATA_CHANGED: {
    readonly dataset: string;
    readonly extract: string;
    readonly extractedVersion: number;
    readonly currentVersion: number;
  };
  readonly EXTRACT_COMPOSITION: {
    readonly dataset: string;
    readonly extract: string;
    readonly quasiIdentifiers: readonly string[];
  };
  // Models trained in the room: what a template asks for, and what the data allows.
  readonly MODEL_NOT_ALLOWED: { readonly dataset: string; readonly column?: string };
  readonly MODEL_NOT_A_RECIPIENT: { readonly dataset: string; readonly recipient: string };
  readonly MODEL_DP_REQUIRED: { readonly dataset: string; readonly maxEpsilon?: number };
  readonly MODEL_TOO_FEW_PEOPLE: { readonly dataset: string; readonly minPeople: number };
  readonly MODEL_PERSON_SET_APART: { readonly dataset: string; readonly minGroupSize: number };
  readonly MODEL_LEVEL_TOO_FEW_PEOPLE: {
    readonly dataset: string;
    readonly minGroupSize: number;
    readonly levels: readonly string[];
  };
  readonly MODEL_NOT_ONE_ROW_PER_PERSON: { readonly dataset: string; readonly privacyUnit: string };
  // Residency: a dataset declared in a region the room may not process.
  readonly REGION_NOT_ALLOWED: {
    readonly dataset: string;
    readonly region: string;
    readonly roomRegion: string;
    readonly processes: readonly string[];
  };
  // A value of a JSON document (policy, template, manifest, request body) at a JSON pointer.
  readonly INVALID_VALUE: { readonly pointer: string };
  // A checked query the configured executor (ClickHouse) cannot run with DuckDB's meaning.
  readonly EXECUTOR_UNSUPPORTED: { readonly executor: string; readonly construct: string; readonly offset?: number };
}

export type DiagnosticCode = keyof DiagnosticData;

/** The codes of the query checker, whose data says which dataset and column. */
export type QueryDiagnosticCode =
  | 'SQL_PARSE_ERROR'
  | 'NOT_A_SELECT'
  | 'MULTIPLE_STATEMENTS'
  | 'SET_OPERATION_NOT_ALLOWED'
  | 'TABLE_NOT_ALLOWED'
  | 'TABLE_FUNCTION_NOT_ALLOWED'
  | 'QUALIFIED_NAME_NOT_ALLOWED'
  | 'COLUMN_UNKNOWN'
  | 'COLUMN_AMBIGUOUS'
  | 'COLUMN_BLOCKED'
  | 'IDENTIFIER_MISUSE'
  | 'QUASI_IDENTIFIER_NOT_ALLOWED'
  | 'METRIC_OUTSIDE_AGGREGATE'
  | 'AGGREGATE_NOT_ALLOWED'
  | 'AGGREGATE_MISPLACED'
  | 'FUNCTION_NOT_ALLOWED'
  | 'WINDOW_NOT_ALLOWED'
  | 'JOIN_NOT_ALLOWED'
  | 'SUBQUERY_NOT_ALLOWED'
  | 'STAR_NOT_ALLOWED'
  | 'NOT_AGGREGATED'
  | 'VIEW_DROPS_PRIVACY_UNIT'
  | 'CONSTRUCT_NOT_ALLOWED'
  | 'RESERVED_NAME'
  | 'AD_HOC_NOT_ALLOWED'
  | 'DP_NOT_SUPPORTED'
  | 'DP_REQUIRED'
  | 'TYPE_MISMATCH';

/** One refusal reason of a given code: a sentence, the rule that refused, where, and its data. */
export interface DiagnosticOf<C extends DiagnosticCode> {
  readonly code: C;
  readonly message: string;
  /** the rule that refused, e.g. "datasets.advertiser_customers.columns.email_hash.class = identifier" */
  readonly rule: string;
  readonly position?: SourcePosition;
  readonly data: DiagnosticData[C];
}

/** One refusal reason, of any code (a union, so `code` narrows `data`). */
export type Diagnostic = { readonly [C in DiagnosticCode]: DiagnosticOf<C> }[DiagnosticCode];

/** Builds a diagnostic; the code decides the shape of its data. */
export function diagnostic<C extends DiagnosticCode>(
  code: C,
  message: string,
  rule: string,
  data: DiagnosticData[C],
  position?: SourcePosition,
): Diagnostic {
  return { code, message, rule, data, ...(position ? { position } : {}) } as Diagnostic;
}

/** Diagnostics as lines a person can act on: `/datasets/0/columns/2/class: must be one of …`. */
export function describeDiagnostics(diagnostics: readonly Diagnostic[]): string {
  return diagnostics
    .map((d) => (d.code === 'INVALID_VALUE' ? `${d.data.pointer}: ${d.message}` : d.message))
    .join('\n');
}
