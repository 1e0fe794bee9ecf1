import {
  BIGINT,
  DATE,
  DOUBLE,
  DuckDBDateValue,
  LIST,
  VARCHAR,
  listValue,
  type DuckDBType,
  type DuckDBValue,
} from '@duckdb/node-api';

export type ScalarParameterType = 'VARCHAR' | 'BIGINT' | 'DOUBLE' | 'DATE';

/** A template parameter after validation: a value with the DuckDB type it is bound as. */
export type BoundParameter =
  | { readonly type: ScalarParameterType; readonly value: string | number }
  | { readonly type: 'LIST'; readonly itemType: ScalarParameterType; readonly values: readonly (string | number)[] };

const TYPES: Record<ScalarParameterType, DuckDBType> = { VARCHAR, BIGINT, DOUBLE, DATE };

function scalar(type: ScalarParameterType, value: string | number): DuckDBValue {
  switch (type) {
    case 'BIGINT':
      return BigInt(value);
    case 'DOUBLE':
      return Number(value);
    case 'DATE':
      return new DuckDBDateValue(Math.round(Date.parse(`${String(value)}T00:00:00Z`) / 86_400_000));
    default:
      return String(value);
  }
}

/** Values and explicit types for a prepared statement: parameters are bound, never spliced. */
export function toDuckDbParameters(parameters: Readonly<Record<string, BoundParameter>>): {
  values: Record<string, DuckDBValue>;
  types: Record<string, DuckDBType>;
} {
  const values: Record<string, DuckDBValue> = {};
  const types: Record<string, DuckDBType> = {};
  for (const [name, p] of Object.entries(parameters)) {
    if (p.type === 'LIST') {
      values[name] = listValue(p.values.map((v) => scalar(p.itemType, v)));
      types[name] = LIST(TYPES[p.itemType]);
    } else {
      values[name] = scalar(p.type, p.value);
      types[name] = TYPES[p.type];
    }
  }
  return { values, types };
}
