import type { AggregateName, ColumnClass } from '../policy/policy-document.ts';
import type { ColumnInfo, Scope, ViewInfo } from './scope.ts';

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
}

/** What the checker learned about an expression. */
export interface ExprFacts {
  readonly aggregate: boolean;
  readonly classes: ReadonlySet<ColumnClass>;
  readonly datasets: ReadonlySet<string>;
  readonly aggregates: readonly AggregateName[];
  /** a bare column reference passes its info through (for views and joins) */
  readonly bare?: ColumnInfo;
}

export const none: ExprFacts = { aggregate: false, classes: new Set(), datasets: new Set(), aggregates: [] };

export const merge = (facts: readonly ExprFacts[]): ExprFacts => ({
  aggregate: facts.some((f) => f.aggregate),
  classes: new Set(facts.flatMap((f) => [...f.classes])),
  datasets: new Set(facts.flatMap((f) => [...f.datasets])),
  aggregates: facts.flatMap((f) => f.aggregates),
});
