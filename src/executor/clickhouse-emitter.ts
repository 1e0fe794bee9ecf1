import { diagnostic, type Diagnostic } from '../errors/diagnostic.ts';
import { refusalOf } from '../errors/refused-error.ts';
import { child, children, isNode, text, type SqlNode } from '../query/sql-tree.ts';
import type { BoundParameter, ScalarParameterType } from '../store/bound-parameters.ts';
import { DUCKDB_LOWER, DUCKDB_UPPER } from './duckdb-case-map.ts';

/**
 * ClickHouse SQL from the checked, rewritten tree (DuckDB's parse tree, as the checker and rewriters
 * see it), never by transpiling text. Deny by default: a node, function or type not mapped here is
 * refused with EXECUTOR_UNSUPPORTED naming it, before anything runs. Each mapping keeps DuckDB's
 * semantics, where ClickHouse's differ, by writing them out; the traps and their tests are listed in
 * src/executor/CONTEXT.md. Some semantics come from the settings every query runs with
 * (`CLICKHOUSE_QUERY_SETTINGS`), which the server profile also locks.
 */

/** Settings sent with every query (and locked in the room's server profile, docs/clickhouse.md). */
export const CLICKHOUSE_QUERY_SETTINGS = {
  // Reads only. 2, not 1: under readonly = 1 the server refuses every setting below that differs from
  // its profile (measured on chdb: "Cannot modify … in readonly mode"), and a reader whose profile says
  // 2 may not send 1. The room writes every query itself and never a SETTINGS clause.
  readonly: '2',
  // LEFT JOIN non-matches are NULL, as in SQL, not the column type's default (0, '').
  join_use_nulls: 1,
  // sum/avg/min/max of no rows are NULL, as in SQL, not 0.
  aggregate_functions_null_for_empty: 1,
  // CAST keeps NULL a NULL instead of failing on a non-Nullable target.
  cast_keep_nullable: 1,
  // count(DISTINCT x) is exact.
  count_distinct_implementation: 'uniqExact',
  // A name resolves to the table's column before a SELECT alias of the same name, as in DuckDB and
  // the checker. ClickHouse's default substitutes the alias everywhere in that SELECT, WHERE too: an
  // analyst could alias an identifier to a dimension's name and filter on it (found in review).
  prefer_column_name_to_alias: 1,
  // Branches of different types (CASE of Float64 and Decimal) are an error, never a Variant value
  // that reads back unlike DuckDB's widened type.
  use_variant_as_common_type: 0,
  // 16 MiB, not 256 KiB: lower/upper/ILIKE write DuckDB's case tables in (8 KB a call; 25 ILIKEs in
  // one query passed the default, found in review).
  max_query_size: '16777216',
} as const;

export interface EmitOptions {
  /** the quoted ClickHouse name of a dataset's table (schema: its collaboration; never a CTE's) */
  /* default: `schema`.`table` */
  readonly table?: (schema: string, table: string) => string;
}

/** The ClickHouse type a dataset column of a DuckDB type is stored as (policy column types). */
export const clickHouseType = (duckdbType: string): string | undefined => TYPES[duckdbType];

/** A query for the ClickHouse client: text with `{name:Type}` placeholders and their values. */
export interface ClickHouseQuery {
  readonly sql: string;
  readonly params: Record<string, unknown>;
}

const TYPES: Readonly<Record<string, string>> = {
  BOOLEAN: 'Bool',
  TINYINT: 'Int8',
  SMALLINT: 'Int16',
  INTEGER: 'Int32',
  BIGINT: 'Int64',
  HUGEINT: 'Int128',
  UTINYINT: 'UInt8',
  USMALLINT: 'UInt16',
  UINTEGER: 'UInt32',
  UBIGINT: 'UInt64',
  FLOAT: 'Float32',
  DOUBLE: 'Float64',
  VARCHAR: 'String',
  DATE: 'Date32',
  TIMESTAMP: "DateTime64(6, 'UTC')",
};

const INTEGER_TYPES = new Set([
  'TINYINT',
  'SMALLINT',
  'INTEGER',
  'BIGINT',
  'HUGEINT',
  'UTINYINT',
  'USMALLINT',
  'UINTEGER',
  'UBIGINT',
]);

const PARAMETER_TYPES: Readonly<Record<ScalarParameterType, string>> = {
  VARCHAR: 'String',
  BIGINT: 'Int64',
  DOUBLE: 'Float64',
  DATE: 'Date32',
};

const JOIN_KINDS: Readonly<Record<string, string>> = {
  INNER: 'INNER JOIN',
  LEFT: 'LEFT JOIN',
  RIGHT: 'RIGHT JOIN',
  FULL: 'FULL JOIN',
};

const COMPARISONS: Readonly<Record<string, string>> = {
  COMPARE_EQUAL: '=',
  COMPARE_NOTEQUAL: '!=',
  COMPARE_LESSTHAN: '<',
  COMPARE_GREATERTHAN: '>',
  COMPARE_LESSTHANOREQUALTO: '<=',
  COMPARE_GREATERTHANOREQUALTO: '>=',
};

/** Aggregates by DuckDB name: ClickHouse's exact equivalent (never an approximate one: median is exact). */
const AGGREGATES: Readonly<Record<string, string>> = {
  sum: 'sum',
  avg: 'avg',
  mean: 'avg',
  min: 'min',
  max: 'max',
  stddev: 'stddevSamp',
  stddev_samp: 'stddevSamp',
  stddev_pop: 'stddevPop',
  variance: 'varSamp',
  var_samp: 'varSamp',
  var_pop: 'varPop',
  // Only the DP bounding writes it, over values that are all equal (a person's unit in its group).
  any_value: 'any',
};

/** Row functions whose ClickHouse counterpart takes the same arguments with the same meaning. */
const SAME_ARGUMENTS: Readonly<Record<string, string>> = {
  length: 'lengthUTF8',
  starts_with: 'startsWith',
  replace: 'replaceAll',
  floor: 'floor',
  ceil: 'ceil',
  ceiling: 'ceil',
  sign: 'sign',
  abs: 'abs',
  ifnull: 'ifNull',
  // Only the DP bounding writes these, over integers (a count and its bound): both skip NULL arguments;
  // ClickHouse refuses to mix Int64 with Float64 where DuckDB widens.
  least: 'least',
  greatest: 'greatest',
  // Only the DP bounding writes hash(unit): a person's key, compared and never released. ClickHouse
  // computes another 64-bit hash in the same role (users cannot call hash: allowed-functions.ts).
  hash: 'cityHash64',
};

/**
 * ClickHouse functions answering an unsigned or narrow integer where DuckDB answers BIGINT: cast, so
 * a CASE or comparison mixing them with a signed value types as it does on DuckDB.
 */
const BIGINT_RESULTS: ReadonlySet<string> = new Set([
  'lengthUTF8',
  'toYear',
  'toQuarter',
  'toMonth',
  'toISOWeek',
  'toDayOfMonth',
  'toDayOfWeek',
  'toHour',
  'toMinute',
  'toSecond',
]);

/** date_part / date_trunc parts DuckDB and ClickHouse both name alike. */
const DATE_PARTS: Readonly<Record<string, string>> = {
  year: 'toYear',
  quarter: 'toQuarter',
  month: 'toMonth',
  week: 'toISOWeek',
  day: 'toDayOfMonth',
  isodow: 'toDayOfWeek',
  hour: 'toHour',
  minute: 'toMinute',
  second: 'toSecond',
};
/** Date functions named after their part (`year(d)` is `date_part('year', d)`). */
const DATE_PART_FUNCTIONS = new Set(['year', 'month', 'day', 'quarter', 'week', 'isodow']);
const TIME_PARTS = new Set(['hour', 'minute', 'second']);
/** A DATE or TIMESTAMP as ClickHouse's DateTime64(6) in UTC, the room's TIMESTAMP. */
const asTimestamp = (value: string) => `toDateTime64(${value}, 6, 'UTC')`;
/** `body` with `name` bound to `value` (ClickHouse has no let: a one-element arrayMap). */
const bind = (name: string, value: string, body: string) => `arrayMap(${name} -> ${body}, [${value}])[1]`;

/**
 * A double as DuckDB writes it (Python's repr): the shortest digits that read back, in fixed notation
 * for exponents -4 to 15 with at least one decimal (`1.0`, `-0.0`, `0.0001`), else as `1.5e+16`,
 * `1e-05`. ClickHouse's own shortest digits are re-laid out from its text (`1e16` is 1e+16 here).
 */
function doubleText(value: string): string {
  const laidOut =
    "if(__d = '', if(__neg, '-0.0', '0.0'), concat(if(__neg, '-', ''), if(__e >= -4 AND __e < 16, " +
    'if(__e >= 0, concat(if(length(__d) > __e + 1, substring(__d, 1, __e + 1), ' +
    "concat(__d, repeat('0', toUInt32(__e + 1 - length(__d))))), '.', " +
    "if(length(__d) > __e + 1, substring(__d, __e + 2), '0')), " +
    "concat('0.', repeat('0', toUInt32(-__e - 1)), __d)), " +
    "concat(substring(__d, 1, 1), if(length(__d) > 1, concat('.', substring(__d, 2)), ''), 'e', " +
    "if(__e < 0, '-', '+'), if(abs(__e) < 10, '0', ''), toString(abs(__e))))))";
  // __b: the text without its sign; __m, __x: mantissa and exponent; __all: its digits; __d: the
  // significant ones; __e: the decimal exponent of the first.
  const withDigits = bind(
    '__d',
    "replaceRegexpOne(replaceRegexpOne(__all, '^0+', ''), '0+$', '')",
    bind(
      '__e',
      "__x + toInt32(length(splitByChar('.', __m)[1])) - 1 - " +
        "(toInt32(length(__all)) - toInt32(length(replaceRegexpOne(__all, '^0+', ''))))",
      laidOut,
    ),
  );
  const parsed = bind(
    '__m',
    "splitByChar('e', __b)[1]",
    bind(
      '__x',
      "if(position(__b, 'e') > 0, toInt32OrZero(splitByChar('e', __b)[2]), 0)",
      bind('__all', "replaceAll(__m, '.', '')", withDigits),
    ),
  );
  const signed = bind('__neg', "startsWith(__s, '-')", bind('__b', 'if(__neg, substring(__s, 2), __s)', parsed));
  // NULL stays NULL: splitByChar of NULL is [''], which laid out as 0.0 (found in review).
  return bind('__s', `toString(${value})`, `if(__s IS NULL, NULL, if(__s IN ('inf', '-inf', 'nan'), __s, ${signed}))`);
}

/**
 * A value as DuckDB writes it as text, chosen by ClickHouse's type name (a constant, so only one
 * branch runs): a double as `doubleText`, a DateTime64 without its fraction's trailing zeros (DuckDB
 * writes 23:59:59.5 and 00:00:00), anything else as toString.
 */
const asText = (value: string) =>
  bind(
    '__t',
    value,
    `multiIf(toTypeName(__t) LIKE '%Float%', ${doubleText('__t')}, toTypeName(__t) LIKE '%DateTime64%', ` +
      `replaceRegexpOne(toString(__t), '[.]?0+$', ''), toString(__t))`,
  );

/** Whether a node is an integer for certain: an integer constant, or a cast to an integer type. */
function isIntegerValued(node: SqlNode): boolean {
  if (integerConstantValue(node) !== undefined) return true;
  if (node.class === 'CAST') return INTEGER_TYPES.has((node.cast_type as { id?: string } | undefined)?.id ?? '');
  return false;
}

const TRUNCATIONS = new Set(['year', 'quarter', 'month', 'week', 'day', 'hour', 'minute', 'second']);

/** strftime specifiers with a ClickHouse formatDateTime equal; any other is refused. */
const STRFTIME: Readonly<Record<string, string>> = {
  '%Y': '%Y',
  '%m': '%m',
  '%d': '%d',
  '%H': '%H',
  '%M': '%i',
  '%S': '%S',
  '%j': '%j',
  '%%': '%%',
};

/** A DECIMAL constant's unscaled digits and scale, or undefined for anything else. */
function decimalConstant(node: SqlNode): { digits: bigint; scale: bigint } | undefined {
  if (node.class !== 'CONSTANT') return undefined;
  const value = node.value as {
    type?: { id?: string; type_info?: { scale?: number } };
    is_null?: boolean;
    value?: unknown;
  };
  if (value.type?.id !== 'DECIMAL' || value.is_null || !Number.isSafeInteger(value.value)) return undefined;
  return { digits: BigInt(value.value as number), scale: BigInt(value.type.type_info?.scale ?? 0) };
}

/**
 * An identifier, folded to lower case: DuckDB matches names without regard to case (quoted or not),
 * ClickHouse exactly, and the room's tables and columns are lower case.
 */
export const quoteIdentifier = (name: string): string =>
  `\`${name.toLowerCase().replace(/\\/g, '\\\\').replace(/`/g, '\\`')}\``;
/** A ClickHouse string literal: backslash is an escape character there (not in DuckDB), so it is escaped too. */
export const quoteString = (value: string): string => `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

/**
 * C's round() (halves away from zero) of a double, as DuckDB computes it: the integer part, moved one
 * away from zero when the fraction (exact: x − trunc(x)) is at least ½. Never x + ½, which rounds
 * again past 2^52; trunc keeps −0.0 and ±inf as they are. x is written once (bound), so nested
 * rounds do not grow the query exponentially (found in review: three levels passed 256 KiB).
 */
const halfAwayFromZero = (x: string): string =>
  bind('__h', x, 'if(abs(__h - trunc(__h)) >= 0.5, trunc(__h) + sign(__h), trunc(__h))');

const caseTables = new Map<'lower' | 'upper', readonly [from: string, to: string]>();
/**
 * DuckDB's lower() or upper() as translateUTF8's two string literals: its code point to code point
 * mapping (duckdb-case-map.ts), built once. lowerUTF8/upperUTF8 apply full Unicode rules, which DuckDB does
 * not ('ß', 'İ', final sigma, ligatures: 57 code points in lower and 158 in upper, third review).
 */
function caseTable(fn: 'lower' | 'upper'): readonly [string, string] {
  let table = caseTables.get(fn);
  if (!table) {
    const [from, to] = [[] as number[], [] as number[]];
    for (const [first, count, step, delta] of fn === 'lower' ? DUCKDB_LOWER : DUCKDB_UPPER) {
      for (let i = 0; i < count; i++) {
        from.push(first + i * step);
        to.push(first + i * step + delta);
      }
    }
    table = [quoteString(String.fromCodePoint(...from)), quoteString(String.fromCodePoint(...to))];
    caseTables.set(fn, table);
  }
  return table;
}

/**
 * DuckDB's lower() or upper() of a text: translateUTF8 with its two tables written in (8 KB each;
 * the room sends max_query_size to fit many). As query parameters they went into the URL,
 * percent-encoded to ~11 KB each, past what proxies and Node's HTTP server accept.
 */
const caseMapped = (fn: 'lower' | 'upper', value: string): string => {
  const [from, to] = caseTable(fn);
  return `translateUTF8(${value}, ${from}, ${to})`;
};

const TRUTH_OPERATORS = new Set([
  'OPERATOR_NOT',
  'OPERATOR_IS_NULL',
  'OPERATOR_IS_NOT_NULL',
  'COMPARE_IN',
  'COMPARE_NOT_IN',
]);
const TRUTH_FUNCTIONS = new Set(['~~', '!~~', '~~*', '!~~*', 'contains', 'starts_with', 'list_contains']);

/** Whether an expression is a truth value (DuckDB BOOLEAN) that ClickHouse would answer as a number. */
function isTruthValue(node: SqlNode): boolean {
  switch (node.class) {
    case 'COMPARISON':
    case 'CONJUNCTION':
    case 'BETWEEN':
      return true;
    case 'OPERATOR':
      return TRUTH_OPERATORS.has(String(node.type));
    case 'FUNCTION':
      return TRUTH_FUNCTIONS.has(String(node.function_name));
    case 'SUBQUERY':
      return node.subquery_type === 'EXISTS' || node.subquery_type === 'ANY';
    case 'CONSTANT':
      return (node.value as { type?: { id?: string } } | undefined)?.type?.id === 'BOOLEAN';
    case 'CASE': {
      const results = [
        ...children(node, 'case_checks').map((check) => child(check, 'then_expr')),
        child(node, 'else_expr'),
      ];
      const typed = results.filter(
        (r) => r && !(r.class === 'CONSTANT' && r.type === 'VALUE_CONSTANT' && isNullValue(r)),
      );
      return typed.length > 0 && typed.every((r) => r !== undefined && isTruthValue(r));
    }
    default:
      return false;
  }
}

/** The value of an integer constant node (DuckDB's positional reference in ORDER BY), if it is one. */
function integerConstantValue(node: SqlNode): number | undefined {
  if (node.class !== 'CONSTANT') return undefined;
  const value = node.value as { type?: { id?: string }; value?: unknown; is_null?: boolean } | undefined;
  if (value?.is_null || !INTEGER_TYPES.has(value?.type?.id ?? '')) return undefined;
  const n = Number(value?.value);
  return Number.isSafeInteger(n) ? n : undefined;
}

const isNullValue = (node: SqlNode): boolean => (node.value as { is_null?: boolean } | undefined)?.is_null === true;

/** Set by filter() on a copy of an IN subquery whose NULL and false alike fail the row. */
const TRUTH_ONLY = '__cr_truth_only';

class Emitter {
  readonly params: Record<string, unknown> = {};

  readonly #placeholders = new Map<string, string>();

  constructor(
    private readonly parameters: Readonly<Record<string, BoundParameter>>,
    private readonly options: EmitOptions,
  ) {}

  unsupported(what: string, node: unknown): never {
    const offset = isNode(node) && typeof node.query_location === 'number' ? node.query_location : -1;
    const found: Diagnostic = diagnostic(
      'EXECUTOR_UNSUPPORTED',
      `The ClickHouse executor cannot run ${what} with DuckDB's meaning, and this room runs its queries there; ` +
        'a room on the embedded engine (the default) answers it.',
      'room configuration: executor clickhouse (src/executor/CONTEXT.md lists what it runs)',
      { executor: 'clickhouse', construct: what, ...(offset >= 0 && offset < 2 ** 53 ? { offset } : {}) },
    );
    throw refusalOf(found);
  }

  statement(node: SqlNode): string {
    const ctes = children(child(node, 'cte_map') ?? ({} as SqlNode), 'map');
    const prefix =
      ctes.length > 0
        ? `WITH ${ctes
            .map((entry) => {
              const key = text(entry, 'key');
              const query = child(child(entry, 'value') ?? ({} as SqlNode), 'query');
              const inner = child(query ?? ({} as SqlNode), 'node');
              if (!inner) this.unsupported('a common table expression without a query', entry);
              return `${quoteIdentifier(key)} AS (${this.statement(inner)})`;
            })
            .join(', ')} `
        : '';
    let body: string;
    switch (node.type) {
      case 'SELECT_NODE':
        body = this.select(node);
        break;
      case 'SET_OPERATION_NODE':
        if (node.setop_type !== 'UNION' || node.setop_all !== true)
          this.unsupported(`a ${String(node.setop_type)}`, node);
        body = `${this.wrapped(child(node, 'left'))} UNION ALL ${this.wrapped(child(node, 'right'))}`;
        // ClickHouse does not parse ORDER BY / LIMIT after a parenthesised UNION member: sort the union as a table.
        if (children(node, 'modifiers').length > 0) body = `SELECT * FROM (${body})`;
        break;
      default:
        return this.unsupported(`a ${String(node.type)} statement`, node);
    }
    return prefix + body + this.modifiers(node);
  }

  private wrapped(node: SqlNode | undefined): string {
    if (!node) return this.unsupported('an empty set operand', node);
    return `(${this.statement(node)})`;
  }

  private select(node: SqlNode): string {
    const list = children(node, 'select_list').map((item) => this.aliased(item));
    const from = child(node, 'from_table');
    const distinct = children(node, 'modifiers').some((m) => m.type === 'DISTINCT_MODIFIER');
    const parts = [`SELECT ${distinct ? 'DISTINCT ' : ''}${list.join(', ')}`];
    if (from && from.type !== 'EMPTY') parts.push(`FROM ${this.table(from)}`);
    const where = child(node, 'where_clause');
    if (where) parts.push(`WHERE ${this.expression(this.filter(where))}`);
    const groups = children(node, 'group_expressions');
    if (children(node, 'group_sets').length > 1) this.unsupported('GROUPING SETS', node);
    // GROUP BY 2 is the second select item in DuckDB (the room's rewrites resolve it; raw trees may not).
    const grouped = (g: SqlNode) => {
      const position = integerConstantValue(g);
      if (position === undefined) return this.expression(g);
      const item = children(node, 'select_list')[position - 1];
      return item ? this.expression(item) : this.unsupported(`GROUP BY ${position}, past the select list`, g);
    };
    if (groups.length > 0) parts.push(`GROUP BY ${groups.map(grouped).join(', ')}`);
    else if (node.aggregate_handling === 'FORCE_AGGREGATES') parts.push('GROUP BY ALL');
    const having = child(node, 'having');
    if (having) parts.push(`HAVING ${this.expression(this.filter(having))}`);
    if (child(node, 'qualify')) this.unsupported('QUALIFY', node);
    if (child(node, 'sample')) this.unsupported('a SAMPLE clause', node);
    return parts.join(' ');
  }

  private modifiers(node: SqlNode): string {
    const out: string[] = [];
    for (const modifier of children(node, 'modifiers')) {
      switch (modifier.type) {
        case 'ORDER_MODIFIER':
          out.push(`ORDER BY ${this.orders(children(modifier, 'orders'), (item) => this.outputReference(node, item))}`);
          break;
        case 'LIMIT_MODIFIER': {
          const limit = child(modifier, 'limit');
          const offset = child(modifier, 'offset');
          if (limit) out.push(`LIMIT ${this.expression(limit)}`);
          if (offset) out.push(`OFFSET ${this.expression(offset)}`);
          break;
        }
        case 'DISTINCT_MODIFIER':
          if (children(modifier, 'distinct_on_targets').length > 0) this.unsupported('DISTINCT ON', modifier);
          if (node.type !== 'SELECT_NODE') this.unsupported('DISTINCT over a set operation', node);
          break;
        default:
          this.unsupported(`a ${String(modifier.type)}`, modifier);
      }
    }
    return out.length > 0 ? ` ${out.join(' ')}` : '';
  }

  /** ORDER BY items with the null order always written out (the engines' defaults differ by version). */
  /**
   * ORDER BY items. `output`: a statement's ORDER BY, whose items DuckDB reads as output columns first
   * (a position, or a select alias); in a window's ORDER BY they are plain expressions.
   */
  private orders(orders: readonly SqlNode[], output?: (expression: SqlNode) => string | undefined): string {
    return orders
      .map((order) => {
        const expression = child(order, 'expression');
        if (!expression) return this.unsupported('an empty ORDER BY item', order);
        const descending = order.type === 'DESCENDING';
        const nulls = order.null_order === 'NULLS FIRST' || order.null_order === 'NULLS_FIRST' ? 'FIRST' : 'LAST';
        const sorted = output?.(expression) ?? this.expression(expression);
        return `${sorted} ${descending ? 'DESC' : 'ASC'} NULLS ${nulls}`;
      })
      .join(', ');
  }

  /**
   * An ORDER BY item of a statement that DuckDB binds to an output column: an integer constant is a
   * position (ClickHouse would sort by the constant), and a bare name equal to a select alias is that
   * alias before any column (ClickHouse, told to prefer columns, would take the column). Written as
   * the select item's expression; undefined for any other item.
   */
  private outputReference(node: SqlNode, expression: SqlNode): string | undefined {
    let first: SqlNode | undefined = node;
    while (first?.type === 'SET_OPERATION_NODE') first = child(first, 'left');
    const items = first ? children(first, 'select_list') : [];
    const aliasOf = (item: SqlNode) => (typeof item.alias === 'string' ? item.alias : '');
    const position = integerConstantValue(expression);
    let item: SqlNode | undefined;
    if (position !== undefined) {
      item = items[position - 1];
      if (!item) return this.unsupported(`ORDER BY ${position}, past the select list`, node);
    } else {
      const names = expression.class === 'COLUMN_REF' ? ((expression.column_names as string[] | undefined) ?? []) : [];
      if (names.length !== 1) return undefined;
      item = items.find((i) => aliasOf(i).toLowerCase() === names[0]?.toLowerCase());
      if (!item) return undefined;
    }
    if (first === node) return this.expression(item);
    // Over a set operation the output columns have names only.
    if (aliasOf(item)) return quoteIdentifier(aliasOf(item));
    return this.unsupported('ORDER BY a position of a set operation without a column alias', node);
  }

  private aliased(item: SqlNode): string {
    const alias = typeof item.alias === 'string' ? item.alias : '';
    // A comparison answers UInt8 on ClickHouse and BOOLEAN on DuckDB: a selected truth value is a Bool,
    // so it reads back as true/false (the threshold release keeps the rows whose guard column is true).
    const expression = isTruthValue(item) ? `toBool(${this.expression(item)})` : this.expression(item);
    return alias ? `${expression} AS ${quoteIdentifier(alias)}` : expression;
  }

  private tableAlias(node: SqlNode): string {
    return typeof node.alias === 'string' && node.alias ? ` AS ${quoteIdentifier(node.alias)}` : '';
  }

  private table(node: SqlNode): string {
    switch (node.type) {
      case 'BASE_TABLE': {
        const schema = text(node, 'schema_name');
        const table = text(node, 'table_name');
        // Dataset tables are qualified by their collaboration (qualify-datasets.ts); a CTE's name is not.
        const name =
          this.options.table && schema
            ? this.options.table(schema, table)
            : `${schema ? `${quoteIdentifier(schema)}.` : ''}${quoteIdentifier(table)}`;
        return name + this.tableAlias(node);
      }
      case 'SUBQUERY': {
        const inner = child(child(node, 'subquery') ?? ({} as SqlNode), 'node');
        if (!inner) return this.unsupported('an empty subquery', node);
        if (children(node, 'column_name_alias').length > 0) this.unsupported('column aliases on a subquery', node);
        return `(${this.statement(inner)})${this.tableAlias(node)}`;
      }
      case 'JOIN': {
        // Outer joins fill non-matches with NULL under join_use_nulls = 1, as DuckDB does.
        const kind = JOIN_KINDS[String(node.join_type)];
        if (!kind || node.ref_type !== 'REGULAR') this.unsupported(`a ${String(node.join_type)} join`, node);
        const left = child(node, 'left');
        const right = child(node, 'right');
        if (!left || !right) return this.unsupported('a join without two sides', node);
        const using = (node.using_columns as string[] | undefined) ?? [];
        if (using.length > 0)
          return `${this.table(left)} ${kind} ${this.table(right)} USING (${using.map(quoteIdentifier).join(', ')})`;
        const condition = this.filter(child(node, 'condition'));
        if (!condition) return this.unsupported('a join without ON', node);
        return `${this.table(left)} ${kind} ${this.table(right)} ON ${this.expression(condition)}`;
      }
      default:
        return this.unsupported(`a ${String(node.type)} in FROM`, node);
    }
  }

  expression(node: SqlNode): string {
    switch (node.class) {
      case 'CONSTANT':
        return this.constant(node);
      case 'COLUMN_REF': {
        const names = (node.column_names as string[] | undefined) ?? [];
        return names.map(quoteIdentifier).join('.');
      }
      case 'PARAMETER':
        return this.parameter(node);
      case 'COMPARISON':
        return this.comparison(node);
      case 'CONJUNCTION': {
        const op = node.type === 'CONJUNCTION_AND' ? ' AND ' : node.type === 'CONJUNCTION_OR' ? ' OR ' : undefined;
        if (!op) return this.unsupported(String(node.type), node);
        return `(${children(node, 'children')
          .map((c) => this.expression(c))
          .join(op)})`;
      }
      case 'OPERATOR':
        return this.operator(node);
      case 'BETWEEN': {
        const [input, lower, upper] = ['input', 'lower', 'upper'].map((key) => child(node, key));
        if (!input || !lower || !upper) return this.unsupported('a BETWEEN without its three parts', node);
        const value = this.expression(input);
        return `(${value} >= ${this.expression(lower)} AND ${value} <= ${this.expression(upper)})`;
      }
      case 'CASE': {
        const checks = children(node, 'case_checks').map((check) => {
          const when = child(check, 'when_expr');
          const then = child(check, 'then_expr');
          if (!when || !then) return this.unsupported('a CASE branch without WHEN or THEN', check);
          return `WHEN ${this.expression(this.filter(when))} THEN ${this.expression(then)}`;
        });
        const otherwise = child(node, 'else_expr');
        return `(CASE ${checks.join(' ')} ELSE ${otherwise ? this.expression(otherwise) : 'NULL'} END)`;
      }
      case 'CAST':
        return this.cast(node);
      case 'FUNCTION':
        return this.functionCall(node);
      case 'WINDOW':
        return this.window(node);
      case 'SUBQUERY':
        return this.subquery(node);
      case 'STAR': {
        if (children(node, 'exclude_list').length > 0 || children(node, 'replace_list').length > 0 || node.columns)
          this.unsupported('* with EXCLUDE, REPLACE or COLUMNS', node);
        const relation = typeof node.relation_name === 'string' ? node.relation_name : '';
        return relation ? `${quoteIdentifier(relation)}.*` : '*';
      }
      default:
        return this.unsupported(`an expression of class ${String(node.class)}`, node);
    }
  }

  private constant(node: SqlNode): string {
    const value = node.value as
      | { type?: { id?: string; type_info?: { width?: number; scale?: number } }; is_null?: boolean; value?: unknown }
      | undefined;
    const id = value?.type?.id;
    if (!value || value.is_null) return 'NULL';
    switch (id) {
      case 'BOOLEAN':
        return value.value ? 'true' : 'false';
      case 'INTEGER':
      case 'BIGINT':
      case 'SMALLINT':
      case 'TINYINT':
      case 'HUGEINT':
      case 'UBIGINT':
        // The tree went through JSON: an integer past 2^53 may already have lost its last digits.
        if (!Number.isSafeInteger(value.value)) return this.unsupported('an integer constant beyond ±2^53', node);
        // Typed as DuckDB types it, so sums and products widen as they would there.
        return `to${TYPES[id]}(${String(value.value)})`;
      case 'DOUBLE':
      case 'FLOAT':
        // From its shortest round-trip text, so the double is the same one.
        return `toFloat64(${quoteString(String(value.value))})`;
      case 'DECIMAL': {
        const decimal = decimalConstant(node);
        if (!decimal) return this.unsupported('a decimal constant beyond ±2^53 digits', node);
        const scale = Number(decimal.scale);
        const width = value.type?.type_info?.width ?? 18;
        const negative = decimal.digits < 0n;
        const abs = (negative ? -decimal.digits : decimal.digits).toString().padStart(scale + 1, '0');
        const whole = abs.slice(0, abs.length - scale);
        const literal = `${negative ? '-' : ''}${whole}${scale > 0 ? `.${abs.slice(-scale)}` : ''}`;
        return `toDecimal${width <= 9 ? 32 : width <= 18 ? 64 : 128}(${quoteString(literal)}, ${scale})`;
      }
      case 'VARCHAR':
        return quoteString(String(value.value));
      default:
        return this.unsupported(`a constant of type ${String(id)}`, node);
    }
  }

  private parameter(node: SqlNode): string {
    const name = text(node, 'identifier');
    const bound = this.parameters[name];
    if (!bound) return this.unsupported(`the unbound parameter $${name}`, node);
    const key = `p_${name.replace(/[^A-Za-z0-9_]/g, '_')}`;
    // Two names folding to one placeholder would bind one's value for both.
    const earlier = this.#placeholders.get(key) ?? name;
    if (earlier !== name) return this.unsupported(`parameters $${name} and $${earlier} together`, node);
    this.#placeholders.set(key, name);
    // A list is bound item by item, each a scalar placeholder: an Array parameter's text escaping
    // (a quote or backslash inside an item) is where the client and chdb disagreed (found in review).
    if (bound.type === 'LIST') {
      const items = bound.values.map((value, i) => {
        const item = `${key}_${i}`;
        const owner = this.#placeholders.get(item) ?? `${name}[${i}]`;
        if (owner !== `${name}[${i}]`) this.unsupported(`parameters $${name} and $${owner} together`, node);
        this.#placeholders.set(item, `${name}[${i}]`);
        this.params[item] = value;
        return `{${item}:${PARAMETER_TYPES[bound.itemType]}}`;
      });
      return `[${items.join(', ')}]`;
    }
    this.params[key] = bound.value;
    return `{${key}:${PARAMETER_TYPES[bound.type]}}`;
  }

  private comparison(node: SqlNode): string {
    const left = child(node, 'left');
    const right = child(node, 'right');
    if (!left || !right) return this.unsupported('a comparison without two sides', node);
    const a = this.expression(left);
    const b = this.expression(right);
    const op = COMPARISONS[String(node.type)];
    if (op) return `(${a} ${op} ${b})`;
    if (node.type === 'COMPARE_NOT_DISTINCT_FROM') return `isNotDistinctFrom(${a}, ${b})`;
    if (node.type === 'COMPARE_DISTINCT_FROM') return `(NOT isNotDistinctFrom(${a}, ${b}))`;
    return this.unsupported(String(node.type), node);
  }

  private operator(node: SqlNode): string {
    const parts = children(node, 'children');
    const args = parts.map((p) => this.expression(p));
    switch (node.type) {
      case 'OPERATOR_NOT':
        return `(NOT ${args[0]})`;
      case 'OPERATOR_IS_NULL':
        return `(${args[0]} IS NULL)`;
      case 'OPERATOR_IS_NOT_NULL':
        return `(${args[0]} IS NOT NULL)`;
      case 'OPERATOR_COALESCE':
        return `coalesce(${args.join(', ')})`;
      case 'OPERATOR_NULLIF':
        return `nullIf(${args.join(', ')})`;
      case 'COMPARE_IN':
      case 'COMPARE_NOT_IN': {
        // DuckDB: NULL IN (…) is NULL, and x NOT IN (…, NULL) is NULL unless x is found; ClickHouse
        // answers 0/1 for both. A NULL probe is written out. A list that may hold a NULL (a NULL
        // constant, or an item that is no constant: ClickHouse's IN skips the NULL) is written as DuckDB
        // defines it, x = a OR x = b, three-valued on both engines.
        const list = parts.slice(1);
        const probe = args[0];
        const mayHoldNull = (p: SqlNode) =>
          (p.class !== 'CONSTANT' && p.class !== 'PARAMETER') ||
          (p.class === 'CONSTANT' && (p.value as { is_null?: boolean } | undefined)?.is_null === true);
        if (list.some(mayHoldNull)) {
          const found = `(${args
            .slice(1)
            .map((item) => `${probe} = ${item}`)
            .join(' OR ')})`;
          return node.type === 'COMPARE_IN' ? found : `(NOT ${found})`;
        }
        const test = `${probe} ${node.type === 'COMPARE_IN' ? 'IN' : 'NOT IN'} (${args.slice(1).join(', ')})`;
        return `if(${probe} IS NULL, NULL, ${test})`;
      }
      default:
        return this.unsupported(String(node.type), node);
    }
  }

  private cast(node: SqlNode): string {
    const inner = child(node, 'child');
    if (!inner) return this.unsupported('an empty CAST', node);
    const castType = node.cast_type as { id?: string; type_info?: { width?: number; scale?: number } } | undefined;
    const id = castType?.id ?? '';
    const target =
      id === 'DECIMAL'
        ? `Decimal(${castType?.type_info?.width ?? 18}, ${castType?.type_info?.scale ?? 0})`
        : (TYPES[id] ?? this.unsupported(`a cast to ${id}`, node));
    const value = this.expression(inner);
    const quoted = quoteString(target);
    // TRY_CAST answers NULL where DuckDB's would fail, including a value out of the target's range
    // (accurateCastOrNull checks the range; a plain cast would wrap). DuckDB casts a fraction to an
    // integer type rounding half to even, where ClickHouse's accurate cast answers NULL: the exact
    // cast is taken when there is one (integers of any size, whole numbers, integer text), else the
    // value as a double rounded half to even (fractions, fractional text), range-checked again.
    // To a double DuckDB rounds a number to the nearest double; accurateCast refuses (NULL, or an error)
    // any integer a double cannot hold exactly, e.g. a BIGINT past 2^53 (found in review: the
    // dominance rewrite's TRY_CAST dropped the dominant contributor from its own check).
    if (id === 'VARCHAR') return asText(value);
    if (id === 'DOUBLE' || id === 'FLOAT') {
      const to = id === 'DOUBLE' ? 'toFloat64' : 'toFloat32';
      if (node.try_cast !== true) return `${to}(${value})`;
      return `ifNull(accurateCastOrNull(${value}, ${quoted}), ${to}OrNull(trimBoth(toString(${value}))))`;
    }
    if (node.try_cast === true) {
      if (!INTEGER_TYPES.has(id)) return `accurateCastOrNull(${value}, ${quoted})`;
      // DuckDB rounds a DECIMAL half away from zero (a DOUBLE half to even): a decimal constant is cast here.
      const decimal = decimalConstant(inner);
      if (decimal) {
        const rounded =
          (decimal.digits * 2n + (decimal.digits < 0n ? -1n : 1n) * 10n ** decimal.scale) / (2n * 10n ** decimal.scale);
        return `accurateCastOrNull(${quoteString(rounded.toString())}, ${quoted})`;
      }
      // Through text, so numbers and text take one path: DuckDB ignores spaces around a number in text.
      const asText = `trimBoth(toString(${value}))`;
      return (
        `coalesce(accurateCastOrNull(${asText}, ${quoted}), ` +
        `accurateCastOrNull(roundBankers(accurateCastOrNull(${asText}, 'Float64')), ${quoted}))`
      );
    }
    // A plain CAST only fails where DuckDB's also would (the rewriters make every user cast a TRY_CAST).
    return `accurateCast(${value}, ${quoteString(target)})`;
  }

  private functionCall(node: SqlNode): string {
    const name = String(node.function_name);
    const parts = children(node, 'children');
    if (name === 'list_sum' && parts[0]?.function_name === 'max' && children(parts[0], 'children').length === 2)
      return this.topValues(parts[0], children(parts[0], 'children'));
    const args = parts.map((p) => this.expression(p));
    if (child(node, 'filter')) this.unsupported(`${name}(…) FILTER (…)`, node);
    if (children(child(node, 'order_bys') ?? ({} as SqlNode), 'orders').length > 0)
      this.unsupported(`${name}(… ORDER BY …)`, node);
    const distinct = node.distinct === true;
    // Aggregates.
    // DuckDB counts as BIGINT, ClickHouse as UInt64, which has no common type with a signed integer.
    if (name === 'count_star') return 'toInt64(count())';
    if (name === 'count') return `toInt64(${distinct ? 'uniqExact' : 'count'}(${args.join(', ')}))`;
    if (name === 'median') return this.median(node, parts, args);
    const aggregate = AGGREGATES[name];
    if (aggregate) {
      if (distinct) this.unsupported(`${name}(DISTINCT …)`, node);
      if (parts.length !== 1) this.unsupported(`${name} with ${parts.length} arguments`, node);
      return `${aggregate}(${args[0]})`;
    }
    if (distinct) this.unsupported(`${name}(DISTINCT …)`, node);
    switch (name) {
      case '+':
        return args.length === 1 ? `(${args[0]})` : `(${args[0]} + ${args[1]})`;
      case '-':
        return args.length === 1 ? `(-${args[0]})` : `(${args[0]} - ${args[1]})`;
      case '*':
        return `(${args[0]} * ${args[1]})`;
      // Both divide as IEEE doubles (x / 0 is ±inf or nan). DuckDB: x // 0 and x % 0 are NULL; ClickHouse raises.
      case '/':
        return `(${args[0]} / ${args[1]})`;
      // DuckDB divides as integers only when both sides are integers; a DOUBLE (every aggregate in
      // arithmetic is one, the checker sees to it) is divided plainly, and by 0 is NULL (third review).
      case '//':
        return parts.slice(0, 2).every(isIntegerValued)
          ? `if(${args[1]} = 0, NULL, intDiv(${args[0]}, ${args[1]}))`
          : `if(${args[1]} = 0, NULL, ${args[0]} / ${args[1]})`;
      case '%':
        return `if(${args[1]} = 0, NULL, ${args[0]} % ${args[1]})`;
      case '||':
        return `concat(${args.map(asText).join(', ')})`;
      // DuckDB's concat() skips NULL arguments; ClickHouse's is NULL if any is.
      case 'concat':
        return `concat(${args.map((a) => `ifNull(${asText(a)}, '')`).join(', ')})`;
      // LIKE: DuckDB has no escape character unless ESCAPE says so; ClickHouse reads a backslash as one.
      case '~~':
      case '!~~':
      case '~~*':
      case '!~~*': {
        const pattern = `replaceAll(${args[1]}, '\\\\', '\\\\\\\\')`;
        // DuckDB's ILIKE is LIKE over both sides put through its lower(); ClickHouse's ilike folds case
        // by other rules ('İ' ILIKE 'i%' and 'ſ' ILIKE 's' differ).
        if (name === '~~' || name === '!~~') return `${name === '~~' ? 'like' : 'notLike'}(${args[0]}, ${pattern})`;
        const [folded, lowered] = [caseMapped('lower', args[0] ?? ''), caseMapped('lower', pattern)];
        return `${name === '~~*' ? 'like' : 'notLike'}(${folded}, ${lowered})`;
      }
      case 'lower':
      case 'upper':
        return caseMapped(name, args[0] ?? '');
      // DuckDB answers md5 as lower-case hex text; ClickHouse's MD5 as 16 bytes.
      case 'md5':
        return `lower(hex(MD5(${args[0]})))`;
      case 'contains':
        return `(position(${args[0]}, ${args[1]}) > 0)`;
      case 'trim':
      case 'ltrim':
      case 'rtrim': {
        if (args.length !== 1) this.unsupported(`${name} with characters to trim`, node);
        const side = name === 'trim' ? 'BOTH' : name === 'ltrim' ? 'LEADING' : 'TRAILING';
        return `trim(${side} ' ' FROM ${args[0]})`;
      }
      case 'round':
        return this.round(node, parts, args);
      case 'list_sum':
        return this.unsupported('list_sum outside the top-values form', node);
      // DuckDB: list_contains(list, NULL) is NULL; ClickHouse's has(…, NULL) is 0.
      case 'list_contains':
        return `if(${args[1]} IS NULL, NULL, has(${args[0]}, ${args[1]}))`;
      // DuckDB: Sunday 0 … Saturday 6 (ClickHouse mode 2).
      case 'dayofweek':
        return `toInt64(toDayOfWeek(${args[0]}, 2))`;
      case 'date_part':
      case 'datepart':
        return this.datePart(node, parts, args);
      case 'date_trunc':
        return this.dateTrunc(node, parts, args);
      case 'strftime':
        return this.strftime(node, parts, args);
      default: {
        const same = SAME_ARGUMENTS[name] ?? (DATE_PART_FUNCTIONS.has(name) ? DATE_PARTS[name] : undefined);
        if (!same) return this.unsupported(`the function ${name}`, node);
        const call = `${same}(${args.join(', ')})`;
        return BIGINT_RESULTS.has(same) ? `toInt64(${call})` : call;
      }
    }
  }

  /**
   * DuckDB's median, by the type its argument was cast to (the checker writes the cast; without it the
   * type is unknown here and the median refused). DuckDB takes the middle value of an odd count, and
   * of an even count interpolates the two middle ones, lo·½ + hi·½: numbers as doubles (it converts
   * first), timestamps as doubles of their microseconds rounded half away from zero; of text it takes
   * the lower middle in byte order. ClickHouse's quantiles take neither Int128 nor text, interpolate no
   * timestamp, and interpolate doubles as lo + (hi − lo)·½.
   */
  private median(node: SqlNode, parts: readonly SqlNode[], args: readonly string[]): string {
    const [part] = parts;
    const type = part?.class === 'CAST' ? (part.cast_type as { id?: string } | undefined)?.id : undefined;
    if (parts.length !== 1) return this.unsupported('median with other than one argument', node);
    const x = args[0] as string;
    const odd = `count(${x}) % 2 = 1`;
    const [low, high] = ['Low', 'High'].map((side) => `quantileExact${side}(0.5)(${x})`) as [string, string];
    switch (type) {
      case 'DOUBLE':
        return `if(${odd}, ${low}, ${low} * 0.5 + ${high} * 0.5)`;
      case 'TIMESTAMP': {
        const [lo, hi] = [low, high].map((v) => `toFloat64(toUnixTimestamp64Micro(${v}))`);
        const mid = `${lo} * 0.5 + ${hi} * 0.5`;
        return `if(${odd}, ${low}, fromUnixTimestamp64Micro(toInt64(${halfAwayFromZero(mid)}), 'UTC'))`;
      }
      case 'VARCHAR':
        return `if(count(${x}) = 0, NULL, arraySort(groupArray(${x}))[intDiv(count(${x}) - 1, 2) + 1])`;
      default:
        return this.unsupported('median of a value whose type the plan does not state', node);
    }
  }

  /**
   * DuckDB's round of a DOUBLE: C's round() of x·10^d, divided back (x / 10^−d for negative d), and x
   * itself (0 for negative d) where that is not finite. ClickHouse's round() takes halves to even.
   */

  private round(node: SqlNode, parts: readonly SqlNode[], args: string[]): string {
    if (args.length > 2) this.unsupported('round with more than two arguments', node);
    const [x] = args as [string];
    // The checker allows only a constant: the branch is chosen here, so ClickHouse never types the
    // other (an Int128 fallback beside a Float64 had no common type, review), and no lambda of ours
    // wraps an expression of the analyst's.
    const digits = args.length === 1 ? 0 : integerConstantValue(parts[1] as SqlNode);
    if (digits === undefined) return this.unsupported('round with digits that are not an integer constant', node);
    // An integer (the checker casts it to BIGINT): DuckDB adds half the power of ten away from zero in
    // 64 bits (wrapping, as its C++ does) and divides as integers; 0 from 10^19 on; itself for d ≥ 0.
    const first = parts[0];
    if (first?.class === 'CAST' && (first.cast_type as { id?: string } | undefined)?.id === 'BIGINT') {
      if (digits >= 0) return x;
      if (-digits >= 19) return `if(${x} IS NULL, NULL, toInt64(0))`;
      const power = `toInt64(${(10n ** BigInt(-digits)).toString()})`;
      const half = `toInt64(${(10n ** BigInt(-digits) / 2n).toString()})`;
      return bind('__rx', `toInt64(${x})`, `intDiv(if(__rx < 0, __rx - ${half}, __rx + ${half}), ${power}) * ${power}`);
    }
    if (args.length === 1) return halfAwayFromZero(x);
    const scale = `pow(10, ${Math.abs(digits)})`;
    // As a double: ClickHouse has no Int128 × Float64 (a BIGINT is stored as Int128, review); an
    // integer past 2^53 is rounded as a double here where DuckDB rounds the integer.
    const rounded =
      digits < 0
        ? bind('__r', `${halfAwayFromZero(`toFloat64(__rx) / ${scale}`)} * ${scale}`, 'if(isFinite(__r), __r, 0)')
        : bind(
            '__r',
            `${halfAwayFromZero(`toFloat64(__rx) * ${scale}`)} / ${scale}`,
            'if(isFinite(__r), __r, toFloat64(__rx))',
          );
    return bind('__rx', x, `if(__rx IS NULL, NULL, ${rounded})`);
  }

  /**
   * The rewriters' list_sum(max(x, k)): the sum of the k largest values, NULL when there is none. The
   * k largest are the k smallest of −x (groupArraySorted keeps the smallest, skipping NULLs).
   */
  private topValues(node: SqlNode, parts: readonly SqlNode[]): string {
    const k = parts[1];
    const count = k?.class === 'CONSTANT' ? Number((k.value as { value?: unknown } | undefined)?.value) : Number.NaN;
    if (!Number.isSafeInteger(count) || count < 1) return this.unsupported('max(x, k) with k not a constant', node);
    const top = `groupArraySorted(${count})(negate(${this.expression(parts[0] as SqlNode)}))`;
    return `if(empty(${top}), NULL, negate(arraySum(${top})))`;
  }

  private constantText(node: SqlNode | undefined, what: string): string {
    const value = node?.class === 'CONSTANT' ? (node.value as { value?: unknown } | undefined)?.value : undefined;
    if (typeof value !== 'string') return this.unsupported(`${what} that is not a constant`, node);
    return value;
  }

  private datePart(node: SqlNode, parts: readonly SqlNode[], args: string[]): string {
    const part = this.constantText(parts[0], 'a date part').toLowerCase();
    if (part === 'dow') return `toInt64(toDayOfWeek(${args[1]}, 2))`;
    const fn = DATE_PARTS[part];
    if (!fn) return this.unsupported(`the date part '${part}'`, node);
    // A DATE has hours, minutes and seconds (all 0) in DuckDB; ClickHouse's Date32 has none.
    const value = TIME_PARTS.has(part) ? asTimestamp(args[1] ?? '') : args[1];
    return `toInt64(${fn}(${value}))`;
  }

  private dateTrunc(node: SqlNode, parts: readonly SqlNode[], args: string[]): string {
    const part = this.constantText(parts[0], 'a date_trunc part').toLowerCase();
    if (!TRUNCATIONS.has(part)) return this.unsupported(`date_trunc to '${part}'`, node);
    // DuckDB answers a TIMESTAMP even for a DATE; ClickHouse keeps the argument's type.
    return `toDateTime64(date_trunc(${quoteString(part)}, ${asTimestamp(args[1] ?? '')}), 6, 'UTC')`;
  }

  private strftime(node: SqlNode, parts: readonly SqlNode[], args: string[]): string {
    const translated = this.constantText(parts[1], 'a strftime format').replace(
      /%./g,
      (spec) => STRFTIME[spec] ?? this.unsupported(`strftime's ${spec}`, node),
    );
    return `formatDateTime(${args[0]}, ${quoteString(translated)})`;
  }

  private window(node: SqlNode): string {
    const partitions = children(node, 'partitions').map((p) => this.expression(p));
    const orders = children(node, 'orders');
    const over = [
      partitions.length > 0 ? `PARTITION BY ${partitions.join(', ')}` : '',
      orders.length > 0 ? `ORDER BY ${this.orders(orders)}` : '',
    ]
      .filter(Boolean)
      .join(' ');
    const args = children(node, 'children').map((c) => this.expression(c));
    switch (node.type) {
      case 'WINDOW_ROW_NUMBER':
        return `toInt64(row_number() OVER (${over}))`;
      case 'WINDOW_RANK':
        return `toInt64(rank() OVER (${over}))`;
      case 'WINDOW_AGGREGATE': {
        const name = String(node.function_name);
        if (orders.length > 0) this.unsupported('a window aggregate with ORDER BY', node);
        const fn = name === 'count_star' ? 'count' : name === 'count' ? 'count' : AGGREGATES[name];
        if (!fn) return this.unsupported(`the window aggregate ${name}`, node);
        const call = `${fn}(${args.join(', ')}) OVER (${over})`;
        return fn === 'count' ? `toInt64(${call})` : call;
      }
      default:
        return this.unsupported(`the window function ${String(node.type)}`, node);
    }
  }

  /**
   * Marks a condition (WHERE, HAVING, JOIN ON, CASE WHEN) and the parts under its AND/OR: there NULL
   * and false both fail the row, so `x IN (subquery)` may answer false where DuckDB answers NULL.
   * Under NOT, or as a value, it may not (DuckDB: NOT NULL is NULL; NOT false is true).
   */
  private filter<T extends SqlNode | undefined>(node: T): T {
    if (!node) return node;
    // Copies, never marks: the rewriters share one node between a condition and a value (the unit's
    // CASE WHEN membership), and a mark on the shared node would reach the value too (found in review).
    if (node.class === 'CONJUNCTION')
      return { ...node, children: children(node, 'children').map((c) => this.filter(c)) };
    if (node.class === 'SUBQUERY' && node.subquery_type === 'ANY') return { ...node, [TRUTH_ONLY]: true };
    return node;
  }

  /** (rows, NULL rows) of a one-column subquery, as a scalar tuple. */
  private countedSet(inner: SqlNode, node: SqlNode): string {
    const items = children(inner, 'select_list');
    if (inner.type !== 'SELECT_NODE' || items.length !== 1)
      return this.unsupported('an IN subquery that is not one SELECT of one column, as a value', node);
    const named = { ...inner, select_list: [{ ...(items[0] as SqlNode), alias: '__cr_in' }] };
    return `(SELECT tuple(count(), countIf(isNull(__cr_in))) FROM (${this.statement(named)}))`;
  }

  private subquery(node: SqlNode): string {
    const inner = child(child(node, 'subquery') ?? ({} as SqlNode), 'node');
    if (!inner) return this.unsupported('an empty subquery', node);
    const sql = this.statement(inner);
    switch (node.subquery_type) {
      case 'SCALAR':
        return `(${sql})`;
      case 'EXISTS':
        return `EXISTS (${sql})`;
      case 'ANY': {
        const probe = child(node, 'child');
        if (!probe || node.comparison_type !== 'COMPARE_EQUAL')
          return this.unsupported('a quantified comparison', node);
        const value = this.expression(probe);
        if (node[TRUTH_ONLY] === true) return `if(${value} IS NULL, NULL, ${value} IN (${sql}))`;
        // DuckDB's three values: false for an empty set (even for NULL), NULL for a NULL probe, true
        // when found, NULL when the set holds a NULL, else false. ClickHouse's IN skips NULLs.
        const counted = this.countedSet(inner, node);
        return (
          `multiIf(tupleElement(${counted}, 1) = 0, false, ${value} IS NULL, NULL, ${value} IN (${sql}), true, ` +
          `tupleElement(${counted}, 2) > 0, NULL, false)`
        );
      }
      default:
        return this.unsupported(`a ${String(node.subquery_type)} subquery`, node);
    }
  }
}

/** The query as ClickHouse runs it: its text and the values of its parameters. */
export function emitClickHouse(
  tree: SqlNode,
  parameters: Readonly<Record<string, BoundParameter>> = {},
  options: EmitOptions = {},
): ClickHouseQuery {
  const emitter = new Emitter(parameters, options);
  const sql = emitter.statement(tree);
  return { sql, params: emitter.params };
}
