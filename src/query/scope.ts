import type { ColumnClass } from '../policy/policy-document.ts';
import type { SqlNode } from './sql-tree.ts';
import type { SqlType } from './sql-types.ts';

/** Where a column's values come from, when it is a dataset column passed through unchanged. */
export interface ColumnOrigin {
  readonly dataset: string;
  readonly column: string;
}

/** A column visible in a scope, with the class that decides where it may appear. */
export interface ColumnInfo {
  readonly name: string;
  readonly class: ColumnClass;
  readonly type: SqlType;
  readonly datasets: ReadonlySet<string>;
  /** set only for a bare dataset column (possibly through views); identifiers join by origin */
  readonly origin?: ColumnOrigin;
}

/** A privacy unit reachable from a scope table: the column (by its name there) naming the person. */
export interface UnitColumn {
  readonly dataset: string;
  readonly column: string;
  /** for the matches of a semi-join projected out of a view: every dataset whose people it counts */
  readonly covers?: ReadonlySet<string>;
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
  /** USING join columns, merged into one name: which table's column an unqualified reference means */
  readonly using?: ReadonlyMap<string, string>;
}

/** Where a bare output column of a view comes from: a column of one table of the view's FROM. */
export interface ColumnSource {
  readonly alias: string;
  readonly column: string;
}

/**
 * A dataset read through `probe IN (SELECT unit FROM dataset …)`: its people in a group are the
 * group's distinct probe values that matched (the pair joins on that dataset's privacy unit).
 */
export interface SemiJoinUnit {
  readonly dataset: string;
  /** the whole `probe IN (SELECT …)` expression, and its probe column */
  readonly membership: SqlNode;
  readonly probe: SqlNode;
  readonly probeSource?: ColumnSource;
  /**
   * datasets whose people this count stands for: the subquery's dataset and any it semi-joins in turn (same persons)
   */
  readonly covers: ReadonlySet<string>;
}

/** A privacy unit a view must make visible: a unit column of a table in its FROM, or a semi-join's matches. */
export type InnerUnit =
  | { readonly kind: 'column'; readonly unit: UnitColumn; readonly tableAlias: string }
  | { readonly kind: 'semi-join'; readonly semiJoin: SemiJoinUnit };

/** A CTE or FROM-subquery: a row-level view over datasets, as the checker analysed it. */
export interface ViewInfo {
  readonly name: string;
  readonly node: SqlNode;
  readonly columns: ReadonlyMap<string, ColumnInfo>;
  /** for each output column that is a bare column of the view's FROM, which one */
  readonly sources: ReadonlyMap<string, ColumnSource>;
  readonly datasets: ReadonlySet<string>;
  readonly distinct: boolean;
  /** every privacy unit the view reads: each dataset of its FROM (through any depth) and each semi-join */
  readonly innerUnits: readonly InnerUnit[];
  /** filled lazily when the view is used in a FROM: output name of each unit */
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
  if (matches.length > 1) {
    // A USING join merges the column of both sides into one name, resolved as DuckDB does.
    const merged = scope.using?.get(folded[0] as string);
    const chosen = merged === undefined ? undefined : matches.find((m) => m.table.alias === merged);
    return chosen ? { ok: true, ...chosen } : { ok: false, reason: 'ambiguous' };
  }
  return { ok: true, ...(matches[0] as { table: ScopeTable; column: ColumnInfo }) };
}
