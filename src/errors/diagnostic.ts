/** Every reason the checker can refuse a query; the README lists them with examples. */
export type DiagnosticCode =
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

export interface SourcePosition {
  readonly offset: number;
  readonly line: number;
  readonly column: number;
}

/** One refusal reason: which rule, what it concerns, and where in the SQL. */
export interface Diagnostic {
  readonly code: DiagnosticCode;
  readonly message: string;
  /** the policy rule that refused, e.g. "datasets.advertiser_customers.columns.email_hash.class" */
  readonly rule: string;
  readonly dataset?: string;
  readonly column?: string;
  readonly position?: SourcePosition;
}
