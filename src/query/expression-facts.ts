import type { AggregateName, ColumnClass } from '../policy/policy-document.ts';
import type { ColumnInfo, Scope, SemiJoinUnit, ViewInfo } from './scope.ts';
import { UNKNOWN, type SqlType } from './sql-types.ts';

/** Where an expression sits decides what it may contain. */
export interface ExprContext {
  readonly scope: Scope;
  readonly views: ReadonlyMap<string, ViewInfo>;
  /** aggregates allowed here (select list, HAVING, ORDER BY of the released query) */
  readonly aggregatesAllowed: boolean;
  readonly insideAggregate: boolean;
  /** a view's select list: identifiers and metrics may pass through, to be checked where used */
  readonly projection: boolean;
  readonly place: string;
  readonly aliases?: ReadonlyMap<string, ExprFacts>;
  /**
   * Where `x IN (SELECT unit FROM d …)` may appear, the partner's people are collected here so the
   * room can count them per group; where it is absent (JOIN ON, HAVING, ORDER BY) a semi-join is refused.
   */
  readonly semiJoins?: SemiJoinUnit[];
}

/** What the checker learned about an expression. */
export interface ExprFacts {
  readonly aggregate: boolean;
  readonly classes: ReadonlySet<ColumnClass>;
  readonly datasets: ReadonlySet<string>;
  readonly aggregates: readonly AggregateName[];
  /** a bare column reference passes its info through (for views and joins) */
  readonly bare?: ColumnInfo;
  /** the type DuckDB will give it (UNKNOWN where the checker already refused) */
  readonly type: SqlType;
  /** no column, aggregate or row value anywhere inside: its value cannot depend on data */
  readonly constant: boolean;
}

/** What a refused or typeless expression contributes: nothing, and a type that mixes without complaint. */
export const none: ExprFacts = {
  aggregate: false,
  classes: new Set(),
  datasets: new Set(),
  aggregates: [],
  type: UNKNOWN,
  constant: true,
};

/** Facts of an expression built from parts; the caller sets its type. */
export const merge = (facts: readonly ExprFacts[], type: SqlType = UNKNOWN): ExprFacts => ({
  aggregate: facts.some((f) => f.aggregate),
  classes: new Set(facts.flatMap((f) => [...f.classes])),
  datasets: new Set(facts.flatMap((f) => [...f.datasets])),
  aggregates: facts.flatMap((f) => f.aggregates),
  type,
  constant: facts.every((f) => f.constant),
});
