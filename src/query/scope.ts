import type { ColumnClass } from '../policy/policy-document.ts';
import type { SqlNode } from './sql-tree.ts';

/** Where a column's values come from, when it is a dataset column passed through unchanged. */
export interface ColumnOrigin {
  readonly dataset: string;
  readonly column: string;
}

/** A column visible in a scope, with the class that decides where it may appear. */
export interface ColumnInfo {
  readonly name: string;
  readonly class: ColumnClass;
  readonly datasets: ReadonlySet<string>;
  /** set only for a bare dataset column (possibly through views); identifiers join by origin */
  readonly origin?: ColumnOrigin;
}

/** A privacy unit reachable from a scope table: the column (by its name there) naming the person. */
export interface UnitColumn {
  readonly dataset: string;
  readonly column: string;
}

/** One FROM item (dataset or view) under its alias. */
export interface ScopeTable {
  readonly alias: string;
  readonly columns: ReadonlyMap<string, ColumnInfo>;
  readonly units: readonly UnitColumn[];
  readonly datasets: ReadonlySet<string>;
}

export interface Scope {
  readonly tables: readonly ScopeTable[];
}

/** A CTE or FROM-subquery: a row-level view over datasets, as the checker analysed it. */
export interface ViewInfo {
  readonly name: string;
  readonly node: SqlNode;
  readonly columns: ReadonlyMap<string, ColumnInfo>;
  readonly datasets: ReadonlySet<string>;
  readonly distinct: boolean;
  /** units of the datasets the view reads, by the column name they had inside the view's scope */
  readonly innerUnits: readonly { readonly unit: UnitColumn; readonly tableAlias: string }[];
  /** filled lazily when the view is used in a FROM: output name of each dataset's unit */
  exposedUnits?: UnitColumn[];
}

const CLASS_SEVERITY: Record<ColumnClass, number> = { dimension: 0, metric: 1, quasi: 2, identifier: 3, blocked: 4 };

/** The most restrictive class among several: an expression is as sensitive as its most sensitive input. */
export const strictestClass = (classes: Iterable<ColumnClass>): ColumnClass => {
  let worst: ColumnClass = 'dimension';
  for (const c of classes) if (CLASS_SEVERITY[c] > CLASS_SEVERITY[worst]) worst = c;
  return worst;
};

export type Resolution =
  | { readonly ok: true; readonly table: ScopeTable; readonly column: ColumnInfo }
  | { readonly ok: false; readonly reason: 'unknown' | 'ambiguous' | 'qualified' };

/** Resolves `name` or `alias.name` in a scope, case-insensitively like DuckDB. */
export function resolveColumn(scope: Scope, names: readonly string[]): Resolution {
  const folded = names.map((n) => n.toLowerCase());
  if (folded.length > 2) return { ok: false, reason: 'qualified' };
  if (folded.length === 2) {
    const table = scope.tables.find((t) => t.alias === folded[0]);
    const column = table?.columns.get(folded[1] as string);
    return table && column ? { ok: true, table, column } : { ok: false, reason: 'unknown' };
  }
  const matches = scope.tables.flatMap((table) => {
    const column = table.columns.get(folded[0] as string);
    return column ? [{ table, column }] : [];
  });
  if (matches.length === 0) return { ok: false, reason: 'unknown' };
  // USING joins make the same identifier visible from both sides; DuckDB merges it into one.
  if (matches.length > 1 && !matches.every((m) => m.column.origin && m.column.class === 'identifier')) return { ok: false, reason: 'ambiguous' };
  return { ok: true, ...(matches[0] as { table: ScopeTable; column: ColumnInfo }) };
}
