import type { AggregateName } from '../policy/policy-document.ts';

/**
 * Aggregates the room knows how to threshold, by DuckDB function name, mapped to the rule name an
 * owner allows. Everything else that aggregates (list, string_agg, arg_max, any_value, first,
 * histogram, mode, …) is unknown here and therefore refused: each can release a row's value.
 */
export const AGGREGATES: ReadonlyMap<string, AggregateName> = new Map([
  ['count_star', 'count'],
  ['count', 'count'],
  ['sum', 'sum'],
  ['avg', 'avg'],
  ['mean', 'avg'],
  ['min', 'min'],
  ['max', 'max'],
  ['stddev', 'stddev'],
  ['stddev_samp', 'stddev'],
  ['stddev_pop', 'stddev'],
  ['variance', 'variance'],
  ['var_samp', 'variance'],
  ['var_pop', 'variance'],
  ['median', 'median'],
]);

/**
 * Row-level functions allowed on dimensions and inside aggregates: arithmetic, comparison, text
 * shaping and date bucketing. Nothing that reads files, settings, the catalog or the environment,
 * nothing that builds lists or structs, no randomness, no macros. Nor anything that can fail at
 * run time on some values (left/substring lengths, abs overflow, least/nullif implicit casts,
 * date_diff parts): a failure that depends on a row would be an oracle on that row.
 */
export const SCALAR_FUNCTIONS: ReadonlySet<string> = new Set([
  '+',
  '-',
  '*',
  '/',
  '//',
  '%',
  '~~',
  '!~~',
  '~~*',
  '!~~*',
  '||',
  'lower',
  'upper',
  'trim',
  'ltrim',
  'rtrim',
  'length',
  'concat',
  'starts_with',
  'contains',
  'replace',
  'date_trunc',
  'date_part',
  'datepart',
  'year',
  'month',
  'day',
  'quarter',
  'week',
  'dayofweek',
  'isodow',
  'strftime',
  'list_contains',
  'round',
  'floor',
  'ceil',
  'ceiling',
  'sign',
  'ifnull',
]);

/** Operator node types (class OPERATOR) that are plain logic over their operands. */
export const OPERATORS: ReadonlySet<string> = new Set([
  'OPERATOR_NOT',
  'OPERATOR_IS_NULL',
  'OPERATOR_IS_NOT_NULL',
  'COMPARE_IN',
  'COMPARE_NOT_IN',
  'OPERATOR_COALESCE',
  'OPERATOR_NULLIF',
]);

/** Functions whose format or part argument must be a constant, so DuckDB validates it at bind time. */
export const CONSTANT_ARGUMENT: ReadonlyMap<string, number> = new Map([
  ['date_trunc', 0],
  ['date_part', 0],
  ['datepart', 0],
  ['strftime', 1],
]);
