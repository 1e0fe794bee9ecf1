/**
 * The types the checker infers for expressions, and which mixes of them DuckDB can evaluate without
 * an implicit cast that might fail at run time. A cast that fails on one row is an error the analyst
 * sees only when that row exists (or takes a CASE branch): an oracle on hidden data. So the checker
 * allows only mixes whose casts cannot fail on any value (verified against DuckDB 1.5.6 in
 * test/query/type-safety.test.ts), turns string literals compared with typed values into explicit
 * TRY_CASTs, and refuses the rest with TYPE_MISMATCH.
 */
export type SqlType =
  | { readonly kind: 'varchar' }
  | { readonly kind: 'boolean' }
  /** digits: how many decimal digits the largest value has (TINYINT 3 … HUGEINT 39) */
  | { readonly kind: 'integer'; readonly name: string; readonly digits: number }
  | { readonly kind: 'decimal'; readonly width: number; readonly scale: number }
  | { readonly kind: 'double' }
  | { readonly kind: 'date' }
  | { readonly kind: 'timestamp' }
  | { readonly kind: 'list'; readonly item: SqlType }
  /** a quoted literal: DuckDB casts it to whatever it meets */
  | { readonly kind: 'string-literal'; readonly value: string }
  | { readonly kind: 'null' }
  /** a template parameter whose type the planner was not told; such a query is refused elsewhere */
  | { readonly kind: 'unknown' }
  /** a type the room does not reason about (BLOB, STRUCT, …): it mixes with nothing */
  | { readonly kind: 'other'; readonly name: string };

export const VARCHAR: SqlType = { kind: 'varchar' };
export const BOOLEAN: SqlType = { kind: 'boolean' };
export const DOUBLE: SqlType = { kind: 'double' };
export const DATE: SqlType = { kind: 'date' };
export const TIMESTAMP: SqlType = { kind: 'timestamp' };
export const NULL_TYPE: SqlType = { kind: 'null' };
export const UNKNOWN: SqlType = { kind: 'unknown' };

const INTEGER_DIGITS: Readonly<Record<string, number>> = {
  TINYINT: 3,
  UTINYINT: 3,
  SMALLINT: 5,
  USMALLINT: 5,
  INTEGER: 10,
  UINTEGER: 10,
  BIGINT: 19,
  UBIGINT: 20,
  HUGEINT: 39,
  UHUGEINT: 39,
};
export const integer = (name: keyof typeof INTEGER_DIGITS | string): SqlType => ({
  kind: 'integer',
  name,
  digits: INTEGER_DIGITS[name] ?? 39,
});
export const BIGINT = integer('BIGINT');
export const HUGEINT = integer('HUGEINT');

/** A declared column or parameter type (policy and template vocabularies) as an inferred type. */
export function fromTypeName(name: string): SqlType {
  const upper = name.toUpperCase();
  if (upper in INTEGER_DIGITS) return integer(upper);
  const decimal = /^DECIMAL\((\d+),\s*(\d+)\)$/.exec(upper);
  if (decimal) return { kind: 'decimal', width: Number(decimal[1]), scale: Number(decimal[2]) };
  switch (upper) {
    case 'VARCHAR':
      return VARCHAR;
    case 'BOOLEAN':
      return BOOLEAN;
    case 'DOUBLE':
    case 'FLOAT':
      return DOUBLE;
    case 'DATE':
      return DATE;
    case 'TIMESTAMP':
      return TIMESTAMP;
    default:
      return { kind: 'other', name: upper };
  }
}

/** DuckDB's serialized LogicalType of a constant or cast target. */
export function fromLogicalType(type: unknown): SqlType {
  const t = type as
    { id?: string; type_info?: { width?: number; scale?: number; child_type?: unknown } | null } | undefined;
  const id = t?.id ?? '';
  if (id === 'DECIMAL') return { kind: 'decimal', width: t?.type_info?.width ?? 18, scale: t?.type_info?.scale ?? 3 };
  if (id === 'LIST') return { kind: 'list', item: fromLogicalType(t?.type_info?.child_type) };
  if (id === 'NULL') return NULL_TYPE;
  return fromTypeName(id);
}

export const isNumeric = (t: SqlType): boolean => t.kind === 'integer' || t.kind === 'decimal' || t.kind === 'double';
export const isTemporal = (t: SqlType): boolean => t.kind === 'date' || t.kind === 'timestamp';
export const isText = (t: SqlType): boolean => t.kind === 'varchar' || t.kind === 'string-literal';
/** Types that adapt to their partner: NULL, string literals and parameters of unknown type. */
const adapts = (t: SqlType): boolean => t.kind === 'null' || t.kind === 'string-literal' || t.kind === 'unknown';

export function typeName(t: SqlType): string {
  switch (t.kind) {
    case 'integer':
      return t.name;
    case 'decimal':
      return `DECIMAL(${t.width},${t.scale})`;
    case 'list':
      return `${typeName(t.item)}[]`;
    case 'string-literal':
      return 'a quoted literal';
    case 'other':
      return t.name;
    default:
      return t.kind.toUpperCase();
  }
}

/**
 * Two numeric values compared or mixed: DuckDB casts both to the wider type. Integers widen, and
 * anything meets DOUBLE safely; but an integer meeting a DECIMAL is cast to DECIMAL(38, scale),
 * which overflows (a Conversion Error naming the value) when integer digits + scale exceed 38.
 */
function numericMix(a: SqlType, b: SqlType): SqlType | undefined {
  if (a.kind === 'double' || b.kind === 'double') return DOUBLE;
  if (a.kind === 'integer' && b.kind === 'integer') return a.digits >= b.digits ? a : b;
  const [d, other] = a.kind === 'decimal' ? [a, b] : [b as Extract<SqlType, { kind: 'decimal' }>, a];
  if (d.kind !== 'decimal') return undefined;
  const wholeDigits =
    other.kind === 'integer' ? other.digits : other.kind === 'decimal' ? other.width - other.scale : 39;
  const scale = other.kind === 'decimal' ? Math.max(d.scale, other.scale) : d.scale;
  return Math.max(wholeDigits, d.width - d.scale) + scale <= 38
    ? { kind: 'decimal', width: Math.max(wholeDigits, d.width - d.scale) + scale, scale }
    : undefined;
}

/**
 * The common type of values that meet (compared, IN, BETWEEN, CASE branches, COALESCE), or
 * undefined when some implicit cast between them could fail. String literals and NULLs adapt to
 * the typed side (the caller casts each literal explicitly). `constant` is kept for rules that
 * depend on whether a value can vary with the data.
 */
export function commonType(
  types: readonly { readonly type: SqlType; readonly constant: boolean }[],
): SqlType | undefined {
  const typed = types.filter((t) => !adapts(t.type));
  if (typed.length === 0)
    return types.some((t) => t.type.kind === 'string-literal')
      ? VARCHAR
      : (types.find((t) => t.type.kind === 'unknown')?.type ?? NULL_TYPE);
  let result = (typed[0] as { type: SqlType }).type;
  for (const { type } of typed.slice(1)) {
    if (isNumeric(result) && isNumeric(type)) {
      const mixed = numericMix(result, type);
      if (!mixed) return undefined;
      result = mixed;
    } else if (isTemporal(result) && isTemporal(type)) {
      // DATE → TIMESTAMP fails only past TIMESTAMP's range (year 294247); uploads keep DATEs within years 1-9999.
      if (result.kind !== type.kind) result = TIMESTAMP;
    } else if (result.kind === 'list' && type.kind === 'list') {
      if (
        !commonType([
          { type: result.item, constant: false },
          { type: type.item, constant: false },
        ])
      )
        return undefined;
    } else if (result.kind !== type.kind || result.kind === 'other') {
      return undefined;
    }
  }
  return result;
}

const LITERAL_PATTERNS: Partial<Record<SqlType['kind'], RegExp>> = {
  date: /^\d{4}-\d{2}-\d{2}$/,
  timestamp: /^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?)?$/,
  integer: /^[+-]?\d{1,18}$/,
  decimal: /^[+-]?(\d{1,18}(\.\d{0,18})?|\.\d{1,18})$/,
  double: /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d{1,3})?$/,
  boolean: /^(true|false)$/i,
};

/**
 * Whether a quoted literal plainly spells a value of `target` (ISO dates, plain numbers, true/false).
 * It is still cast with TRY_CAST, so an impossible date such as 2024-02-31 becomes NULL, not an error.
 */
export function literalSpells(value: string, target: SqlType): boolean {
  if (
    target.kind === 'varchar' ||
    target.kind === 'string-literal' ||
    target.kind === 'null' ||
    target.kind === 'unknown'
  )
    return true;
  return LITERAL_PATTERNS[target.kind]?.test(value.trim()) ?? false;
}

/** The DuckDB type name a literal is cast to. */
export const castTarget = (t: SqlType): string => (t.kind === 'decimal' ? 'DOUBLE' : typeName(t));
