/**
 * DuckDB's serialized parse tree (json_serialize_sql), typed only as far as the checker reads it.
 * Nodes are plain JSON; anything the checker does not recognise is refused, never guessed at.
 */
export type SqlNode = {
  readonly [key: string]: unknown;
  readonly type?: string;
  readonly class?: string;
  readonly query_location?: number;
};

export const isNode = (value: unknown): value is SqlNode =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

export const child = (node: SqlNode, key: string): SqlNode | undefined =>
  isNode(node[key]) ? (node[key] as SqlNode) : undefined;

export const children = (node: SqlNode, key: string): SqlNode[] =>
  Array.isArray(node[key]) ? (node[key] as unknown[]).filter(isNode) : [];

export const text = (node: SqlNode, key: string): string =>
  typeof node[key] === 'string' ? (node[key] as string) : '';

/** DuckDB resolves identifiers case-insensitively, quoted or not; so does the checker. */
export const fold = (name: string): string => name.toLowerCase();

/** The serialized statement list, or the parser's own error. */
export interface SerializedSql {
  readonly error: boolean;
  readonly error_message?: string;
  readonly error_type?: string;
  readonly position?: string | number;
  readonly statements?: readonly { readonly node: SqlNode; readonly named_param_map?: unknown }[];
}

/** Builds a column reference node in DuckDB's serialized form. */
export const columnRef = (names: readonly string[], alias = ''): SqlNode => ({
  class: 'COLUMN_REF',
  type: 'COLUMN_REF',
  alias,
  query_location: -1,
  column_names: [...names],
});

/** Builds an aggregate call node, e.g. count(DISTINCT x). */
export const aggregateCall = (
  name: string,
  args: readonly SqlNode[],
  options: { distinct?: boolean; alias?: string } = {},
): SqlNode => ({
  class: 'FUNCTION',
  type: 'FUNCTION',
  alias: options.alias ?? '',
  query_location: -1,
  function_name: name,
  schema: '',
  children: [...args],
  filter: null,
  order_bys: { type: 'ORDER_MODIFIER', orders: [] },
  distinct: options.distinct ?? false,
  is_operator: false,
  export_state: false,
  catalog: '',
});

export const NULL_CONSTANT: SqlNode = {
  class: 'CONSTANT',
  type: 'VALUE_CONSTANT',
  alias: '',
  query_location: -1,
  value: { type: { id: 'NULL', type_info: null }, is_null: true },
};

/** CASE WHEN condition THEN value ELSE otherwise END: DuckDB evaluates a branch only for rows that take it. */
export const caseWhen = (
  condition: SqlNode,
  value: SqlNode,
  alias = '',
  otherwise: SqlNode = NULL_CONSTANT,
): SqlNode => ({
  class: 'CASE',
  type: 'CASE_EXPR',
  alias,
  query_location: -1,
  case_checks: [{ when_expr: condition, then_expr: value }],
  else_expr: otherwise,
});

const DOUBLE_IDS = new Set(['DOUBLE', 'FLOAT']);

/**
 * JSON text of a (rewritten) tree for json_deserialize_sql. JavaScript prints the DOUBLE constant
 * 1000.0 as 1000, which DuckDB then refuses as an unsigned integer where it expects a double; so
 * integral values of DOUBLE and FLOAT constants are written with a decimal point.
 */
export function treeToJson(value: unknown): string {
  const write = (v: unknown, doubleValue: boolean): string => {
    if (Array.isArray(v)) return `[${v.map((item) => write(item, false)).join(',')}]`;
    if (typeof v === 'number' && doubleValue && Number.isInteger(v) && Math.abs(v) < 1e21) return `${v}.0`;
    if (typeof v !== 'object' || v === null) return JSON.stringify(v) ?? 'null';
    const record = v as Record<string, unknown>;
    const isDouble =
      DOUBLE_IDS.has(String((record.type as { id?: unknown } | undefined)?.id ?? '')) &&
      'value' in record &&
      'is_null' in record;
    return `{${Object.entries(record)
      .filter(([, item]) => item !== undefined)
      .map(([key, item]) => `${JSON.stringify(key)}:${write(item, isDouble && key === 'value')}`)
      .join(',')}}`;
  };
  return write(value, false);
}

const constant = (id: string, value: unknown): SqlNode => ({
  class: 'CONSTANT',
  type: 'VALUE_CONSTANT',
  alias: '',
  query_location: -1,
  value: { type: { id, type_info: null }, is_null: false, value },
});
export const FALSE_CONSTANT: SqlNode = constant('BOOLEAN', false);
export const TRUE_CONSTANT: SqlNode = constant('BOOLEAN', true);
export const integer = (value: number): SqlNode => constant('BIGINT', value);
export const double = (value: number): SqlNode => constant('DOUBLE', value);
export const stringConstant = (value: string): SqlNode => constant('VARCHAR', value);

export const compare = (type: string, left: SqlNode, right: SqlNode): SqlNode => ({
  class: 'COMPARISON',
  type,
  alias: '',
  query_location: -1,
  left,
  right,
});

/** AND/OR of parts; one part is itself, and an empty AND is TRUE. */
export const conjunction = (type: 'CONJUNCTION_AND' | 'CONJUNCTION_OR', parts: readonly SqlNode[]): SqlNode =>
  parts.length === 0 && type === 'CONJUNCTION_AND'
    ? TRUE_CONSTANT
    : parts.length === 1
      ? (parts[0] as SqlNode)
      : { class: 'CONJUNCTION', type, alias: '', query_location: -1, children: [...parts] };

export const not = (inner: SqlNode): SqlNode => ({
  class: 'OPERATOR',
  type: 'OPERATOR_NOT',
  alias: '',
  query_location: -1,
  children: [inner],
});

/** A scalar function call, e.g. list_sum(x). */
export const functionCall = (name: string, args: readonly SqlNode[], alias = ''): SqlNode => ({
  ...aggregateCall(name, args),
  alias,
  is_operator: /^[^a-z_]/i.test(name),
});

export const tryCast = (inner: SqlNode, type: string, alias = ''): SqlNode => ({
  class: 'CAST',
  type: 'OPERATOR_CAST',
  alias,
  query_location: -1,
  child: inner,
  cast_type: { id: type, type_info: null },
  try_cast: true,
});

/** A FROM-subquery: (select) AS alias. */
export const subqueryRef = (select: SqlNode, alias: string): SqlNode => ({
  type: 'SUBQUERY',
  alias,
  sample: null,
  query_location: -1,
  subquery: { node: select, named_param_map: [] },
  column_name_alias: [],
});

export const joinRef = (left: SqlNode, right: SqlNode, condition: SqlNode, joinType: 'INNER' | 'LEFT'): SqlNode => ({
  type: 'JOIN',
  alias: '',
  sample: null,
  query_location: -1,
  left,
  right,
  condition,
  join_type: joinType,
  ref_type: 'REGULAR',
  using_columns: [],
  delim_flipped: false,
  duplicate_eliminated_columns: [],
});

/** A plain SELECT node over `from`, grouped by `groups`. */
export const selectNode = (parts: {
  select: readonly SqlNode[];
  from: SqlNode;
  where?: SqlNode | null;
  groups?: readonly SqlNode[];
  cteMap?: unknown;
}): SqlNode => ({
  type: 'SELECT_NODE',
  modifiers: [],
  cte_map: parts.cteMap ?? { map: [] },
  select_list: [...parts.select],
  from_table: parts.from,
  where_clause: parts.where ?? null,
  group_expressions: [...(parts.groups ?? [])],
  // DuckDB prints GROUP BY from the grouping sets, each a list of indexes into group_expressions.
  group_sets: (parts.groups ?? []).length > 0 ? [(parts.groups ?? []).map((_, i) => i)] : [],
  aggregate_handling: 'STANDARD_HANDLING',
  having: null,
  sample: null,
  qualify: null,
});

/**
 * The number a numeric constant stands for. DECIMALs are stored scaled (0.5 is DECIMAL(1,1) with
 * value 5), so the scale is applied; anything else that is not a plain number is undefined.
 */
export function constantNumber(node: SqlNode | undefined): number | undefined {
  if (node?.class !== 'CONSTANT') return undefined;
  const value = node.value as
    { value?: unknown; is_null?: boolean; type?: { id?: string; type_info?: { scale?: number } | null } } | undefined;
  if (value?.is_null || typeof value?.value !== 'number') return undefined;
  return value.type?.id === 'DECIMAL' ? value.value / 10 ** (value.type.type_info?.scale ?? 0) : value.value;
}

/** A whole-number constant of an integer type (not 1.0, which is a DECIMAL), or undefined. */
export function integerConstant(node: SqlNode | undefined): number | undefined {
  const id = (node?.value as { type?: { id?: string } } | undefined)?.type?.id ?? '';
  const n = constantNumber(node);
  return /INT/.test(id) && n !== undefined && Number.isInteger(n) ? n : undefined;
}

/** A reference to a dataset, view or CTE by name, optionally aliased. */
export const tableRef = (name: string, alias = ''): SqlNode => ({
  type: 'BASE_TABLE',
  alias,
  sample: null,
  query_location: -1,
  schema_name: '',
  table_name: name,
  column_name_alias: [],
  catalog_name: '',
  at_clause: null,
});

/** `probe IN (select)`, an ANY subquery. */
export const inSubquery = (probe: SqlNode, select: SqlNode): SqlNode => ({
  class: 'SUBQUERY',
  type: 'SUBQUERY',
  alias: '',
  query_location: -1,
  subquery_type: 'ANY',
  subquery: { node: select, named_param_map: [] },
  child: probe,
  comparison_type: 'COMPARE_EQUAL',
});

/** WITH name AS [MATERIALIZED] (query), … as a SELECT's cte_map. */
export const cteMap = (entries: readonly (readonly [string, SqlNode])[], materialized = false): SqlNode => ({
  map: entries.map(([key, query]) => ({
    key,
    value: {
      aliases: [],
      query: { node: query, named_param_map: [] },
      materialized: materialized ? 'CTE_MATERIALIZE_ALWAYS' : 'CTE_MATERIALIZE_DEFAULT',
      key_targets: [],
    },
  })),
});

/** row_number() OVER (PARTITION BY … ORDER BY …). */
export const rowNumber = (partitions: readonly SqlNode[], orders: readonly SqlNode[]): SqlNode =>
  windowCall('WINDOW_ROW_NUMBER', 'row_number', [], partitions, orders);

/** rank() OVER (ORDER BY …): the first position of each row's value (ties share it). */
export const rank = (orders: readonly SqlNode[]): SqlNode => windowCall('WINDOW_RANK', 'rank', [], [], orders);

/** An aggregate over a whole partition, e.g. sum(x) OVER (PARTITION BY …); no partitions: over every row. */
export const windowAggregate = (name: string, args: readonly SqlNode[], partitions: readonly SqlNode[]): SqlNode =>
  windowCall('WINDOW_AGGREGATE', name, args, partitions, []);

const windowCall = (
  type: string,
  name: string,
  args: readonly SqlNode[],
  partitions: readonly SqlNode[],
  orders: readonly SqlNode[],
): SqlNode => ({
  class: 'WINDOW',
  type,
  alias: '',
  query_location: -1,
  function_name: name,
  schema: '',
  catalog: '',
  children: [...args],
  partitions: [...partitions],
  orders: orders.map((expression) => ({ type: 'ORDER_DEFAULT', null_order: 'ORDER_DEFAULT', expression })),
  start: 'UNBOUNDED_PRECEDING',
  end: 'CURRENT_ROW_RANGE',
  start_expr: null,
  end_expr: null,
  offset_expr: null,
  default_expr: null,
  ignore_nulls: false,
  filter_expr: null,
  exclude_clause: 'NO_OTHER',
  distinct: false,
  arg_orders: [],
});

/** Every column of the FROM (only in SQL the room writes itself). */
export const STAR: SqlNode = {
  class: 'STAR',
  type: 'STAR',
  alias: '',
  query_location: -1,
  relation_name: '',
  exclude_list: [],
  replace_list: [],
  columns: false,
  expr: null,
  qualified_exclude_list: [],
  rename_list: [],
};

/** left UNION ALL right. */
export const unionAll = (left: SqlNode, right: SqlNode): SqlNode => ({
  type: 'SET_OPERATION_NODE',
  modifiers: [],
  cte_map: { map: [] },
  setop_type: 'UNION',
  left,
  right,
  setop_all: true,
});

export const castTo = (inner: SqlNode, type: string): SqlNode => ({
  class: 'CAST',
  type: 'OPERATOR_CAST',
  alias: '',
  query_location: -1,
  child: inner,
  cast_type: { id: type, type_info: null },
  try_cast: false,
});

/** coalesce(a, b, …): an operator in DuckDB's tree, not a function. */
export const coalesce = (parts: readonly SqlNode[]): SqlNode => ({
  class: 'OPERATOR',
  type: 'OPERATOR_COALESCE',
  alias: '',
  query_location: -1,
  children: [...parts],
});

export const isNull = (node: SqlNode): SqlNode => ({
  class: 'OPERATOR',
  type: 'OPERATOR_IS_NULL',
  alias: '',
  query_location: -1,
  children: [node],
});
export const isNotNull = (node: SqlNode): SqlNode => ({
  class: 'OPERATOR',
  type: 'OPERATOR_IS_NOT_NULL',
  alias: '',
  query_location: -1,
  children: [node],
});
